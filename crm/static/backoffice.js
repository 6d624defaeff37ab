// Flask-Admin's links that only run a handler have href="javascript:void(0)". Following them is
// inline script, which the Content-Security-Policy refuses (and reports): the handler has run,
// so the link is not followed.
document.addEventListener("click", function (event) {
  var link = event.target.closest && event.target.closest('a[href^="javascript:"]');
  if (link) {
    event.preventDefault();
  }
});
