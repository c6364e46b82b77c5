<?php if (!$lines): ?>
<p>Your cart is empty.</p>
<?php else: ?>
<table>
<tr><th>Product</th><th>Qty</th><th>Sum</th></tr>
<?php foreach ($lines as $l): ?>
<tr><td><?= $this->e($l['product']['name']) ?></td><td><?= (int)$l['qty'] ?></td><td><?= number_format($l['sum'], 2) ?> €</td></tr>
<?php endforeach; ?>
</table>
<p>Total: <?= number_format($total, 2) ?> €</p>
<?php endif; ?>
