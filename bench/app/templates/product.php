<article>
<p class="price"><?= number_format($product['price'], 2) ?> €</p>
<p><?= $product['stock'] ?> in stock</p>
<p>Tags: <?= $this->e(implode(', ', $product['tags'])) ?></p>
<a href="<?= $this->url('cart_add', ['id' => $product['id']]) ?>">Add to cart</a>
</article>
