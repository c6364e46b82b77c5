<?php
declare(strict_types=1);

namespace BenchApp;

// A stand-in for a database: 200 products generated deterministically.
final class Catalog
{
    private array $products = [];

    public function __construct()
    {
        $colors = ['red', 'green', 'blue', 'black', 'white', 'silver'];
        for ($i = 1; $i <= 200; $i++) {
            $this->products[$i] = [
                'id' => $i,
                'name' => ucfirst($colors[$i % 6]) . ' widget ' . $i,
                'price' => round(($i * 7919) % 10000 / 100 + 1, 2),
                'stock' => ($i * 31) % 17,
                'tags' => [$colors[$i % 6], $i % 2 ? 'odd' : 'even', 'size-' . ($i % 5)],
            ];
        }
    }

    public function find(int $id): ?array
    {
        return $this->products[$id] ?? null;
    }

    public function page(int $page, int $perPage = 20): array
    {
        return array_slice($this->products, ($page - 1) * $perPage, $perPage, true);
    }
}
