<p>Sorry, that page does not exist.</p>
