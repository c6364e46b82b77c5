<p>A tiny shop that exists to benchmark PHP process managers.</p>
