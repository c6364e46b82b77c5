<?php
echo "target reached\n";
