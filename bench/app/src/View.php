<?php
declare(strict_types=1);

namespace BenchApp;

// PHP templates with escaping and a layout.
final class View
{
    public function __construct(private string $dir, private Router $router)
    {
    }

    public function e(mixed $s): string
    {
        return htmlspecialchars((string)$s, ENT_QUOTES | ENT_SUBSTITUTE, 'UTF-8');
    }

    public function url(string $name, array $params = []): string
    {
        return '/app' . $this->router->url($name, $params);
    }

    public function render(string $template, array $vars, ?string $layout = 'layout'): string
    {
        $content = $this->capture($template, $vars);
        if ($layout === null) {
            return $content;
        }
        return $this->capture($layout, $vars + ['content' => $content]);
    }

    private function capture(string $template, array $vars): string
    {
        extract($vars, EXTR_SKIP);
        ob_start();
        require $this->dir . '/' . $template . '.php';
        return (string)ob_get_clean();
    }
}
