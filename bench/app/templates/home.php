<ul class="products">
<?php foreach ($products as $p): ?>
<li>
<a href="<?= $this->url('product', ['id' => $p['id']]) ?>"><?= $this->e($p['name']) ?></a>
<span class="price"><?= number_format($p['price'], 2) ?> €</span>
<?php if ($p['stock'] === 0): ?><em>sold out</em><?php else: ?><a href="<?= $this->url('cart_add', ['id' => $p['id']]) ?>">add</a><?php endif; ?>
</li>
<?php endforeach; ?>
</ul>
<p>Page <?= (int)$page ?></p>
