// docs.js — renders the document named by ?doc= (one of a fixed list) with the page's
// renderer: Redoc for OpenAPI, AsyncAPI's React component for AsyncAPI. No inline script:
// the bridge serves /docs/ with script-src 'self'.
(function () {
	'use strict';
	var known = {
		openapi: ['tribble', 'waas', 'sellapay', 'partners', 'cashier'],
		asyncapi: ['cashier', 'socketio']
	};
	var el = document.getElementById('doc');
	var kind = el.getAttribute('data-kind');
	var name = new URLSearchParams(window.location.search).get('doc');
	if (known[kind].indexOf(name) < 0)
		name = known[kind][0];
	var url = kind + '/' + name + '.json';
	if (kind === 'openapi')
		window.Redoc.init(url, { hideDownloadButton: false, expandResponses: '200,201' }, el);
	else
		window.AsyncApiStandalone.render({
			schema: { url: url, options: { method: 'GET', mode: 'cors' } },
			config: { show: { sidebar: true } }
		}, el);
}());
