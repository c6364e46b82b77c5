<?php
declare(strict_types=1);

namespace BenchApp;

// Routes like "/product/{id:\d+}" compiled to one regex each, matched in order.
final class Router
{
    private array $routes = [];

    public function add(string $method, string $pattern, callable $handler, string $name): void
    {
        $regex = preg_replace_callback(
            '/\{(\w+)(?::([^}]+))?\}/',
            static fn(array $m) => '(?P<' . $m[1] . '>' . ($m[2] ?? '[^/]+') . ')',
            $pattern
        );
        $this->routes[$name] = [$method, '#^' . $regex . '$#', $handler, $pattern];
    }

    public function match(string $method, string $path): ?array
    {
        foreach ($this->routes as $name => [$m, $regex, $handler]) {
            if ($m === $method && preg_match($regex, $path, $matches)) {
                $params = array_filter($matches, 'is_string', ARRAY_FILTER_USE_KEY);
                return [$handler, $params, $name];
            }
        }
        return null;
    }

    public function url(string $name, array $params = []): string
    {
        $pattern = $this->routes[$name][3];
        return preg_replace_callback(
            '/\{(\w+)(?::[^}]+)?\}/',
            static fn(array $m) => rawurlencode((string)($params[$m[1]] ?? '')),
            $pattern
        );
    }
}
