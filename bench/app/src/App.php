<?php
declare(strict_types=1);

namespace BenchApp;

final class App
{
    private Router $router;
    private View $view;
    private Catalog $catalog;

    public function __construct(string $templates)
    {
        $this->router = new Router();
        $this->view = new View($templates, $this->router);
        $this->catalog = new Catalog();
        $this->router->add('GET', '/', [$this, 'home'], 'home');
        $this->router->add('GET', '/product/{id:\d+}', [$this, 'product'], 'product');
        $this->router->add('GET', '/cart', [$this, 'cart'], 'cart');
        $this->router->add('GET', '/cart/add/{id:\d+}', [$this, 'addToCart'], 'cart_add');
        $this->router->add('GET', '/about', [$this, 'about'], 'about');
    }

    public function run(Request $request): void
    {
        $path = substr($request->path, strlen('/app')) ?: '/';
        $match = $this->router->match($request->method, $path);
        if ($match === null) {
            (new Response($this->view->render('error', ['title' => 'Not found']), 404))->send();
            return;
        }
        [$handler, $params] = $match;
        session_start();
        $_SESSION['views'] = ($_SESSION['views'] ?? 0) + 1;
        $_SESSION['cart'] ??= [];
        $response = $handler($request, $params);
        session_write_close();
        $response->send();
    }

    private function common(string $title): array
    {
        return ['title' => $title, 'views' => $_SESSION['views'], 'cartCount' => array_sum($_SESSION['cart'])];
    }

    public function home(Request $request, array $params): Response
    {
        $page = max(1, (int)($request->query['page'] ?? 1));
        return new Response($this->view->render('home', $this->common('Widgets') + [
            'products' => $this->catalog->page($page),
            'page' => $page,
        ]));
    }

    public function product(Request $request, array $params): Response
    {
        $product = $this->catalog->find((int)$params['id']);
        if ($product === null) {
            return new Response($this->view->render('error', ['title' => 'No such product']), 404);
        }
        return new Response($this->view->render('product', $this->common($product['name']) + [
            'product' => $product,
        ]));
    }

    public function addToCart(Request $request, array $params): Response
    {
        $id = (int)$params['id'];
        if ($this->catalog->find($id) !== null) {
            $_SESSION['cart'][$id] = ($_SESSION['cart'][$id] ?? 0) + 1;
            if (count($_SESSION['cart']) > 10) {
                $_SESSION['cart'] = array_slice($_SESSION['cart'], -10, null, true);
            }
        }
        return $this->cart($request, $params);
    }

    public function cart(Request $request, array $params): Response
    {
        $lines = [];
        $total = 0.0;
        foreach ($_SESSION['cart'] as $id => $qty) {
            $p = $this->catalog->find((int)$id);
            if ($p) {
                $lines[] = ['product' => $p, 'qty' => $qty, 'sum' => $p['price'] * $qty];
                $total += $p['price'] * $qty;
            }
        }
        return new Response($this->view->render('cart', $this->common('Your cart') + [
            'lines' => $lines,
            'total' => $total,
        ]));
    }

    public function about(Request $request, array $params): Response
    {
        return new Response($this->view->render('about', $this->common('About')));
    }
}
