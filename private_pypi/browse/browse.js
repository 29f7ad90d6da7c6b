// The browse pages' one script, loaded from its own file (the pages' Content-Security-Policy
// runs no other): the filter box of the root page, the install lines' index URL as the
// address this page was read from, and a copy button on each install line.
(function () {
    'use strict';

    var filter = document.getElementById('filter');
    if (filter) {
        var projects = document.querySelectorAll('.projects li');
        var count = document.getElementById('filter-count');
        var apply = function () {
            var words = filter.value.toLowerCase().split(/\s+/).filter(Boolean);
            var shown = 0;
            for (var i = 0; i < projects.length; i++) {
                var text = projects[i].getAttribute('data-filter') || '';
                var match = words.every(function (word) { return text.indexOf(word) !== -1; });
                projects[i].hidden = !match;
                shown += match ? 1 : 0;
            }
            count.textContent = shown + ' of ' + projects.length + ' projects shown';
        };
        // Shown only where this script runs: without it, the box would do nothing.
        filter.closest('.filter').hidden = false;
        filter.addEventListener('input', apply);
        apply();
    }

    var urls = document.querySelectorAll('[data-index-url]');
    for (var u = 0; u < urls.length; u++) {
        urls[u].textContent = new URL(urls[u].getAttribute('data-index-url'), document.baseURI).href;
    }

    if (navigator.clipboard) {
        var blocks = document.querySelectorAll('.install');
        for (var b = 0; b < blocks.length; b++) {
            var button = document.createElement('button');
            button.type = 'button';
            button.textContent = 'Copy';
            button.addEventListener('click', function (event) {
                var target = event.currentTarget;
                var text = target.parentNode.querySelector('code').textContent;
                navigator.clipboard.writeText(text).then(function () {
                    target.textContent = 'Copied';
                });
            });
            blocks[b].appendChild(button);
        }
    }
}());
