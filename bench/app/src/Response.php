<?php
declare(strict_types=1);

namespace BenchApp;

final class Response
{
    private array $headers = ['Content-Type' => 'text/html; charset=UTF-8'];

    public function __construct(private string $body = '', private int $status = 200)
    {
    }

    public function header(string $name, string $value): self
    {
        $this->headers[$name] = $value;
        return $this;
    }

    public function send(): void
    {
        http_response_code($this->status);
        foreach ($this->headers as $name => $value) {
            header($name . ': ' . $value);
        }
        echo $this->body;
    }
}
