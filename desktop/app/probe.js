// Test probe: installed only when the app runs with -test-report. It reports
// what the page rendered (file tree entries, error banners, whether an
// editor is interactive) and whether the webview reaches the embedded
// sessiond over HTTP (CORS) and WebSocket (Origin check). Reports go to Go
// as a Wails event whenever they change.
(() => {
  if (window.__gatewaveProbe) return;
  window.__gatewaveProbe = true;
  const app = window.go && window.go.main && window.go.main.App;
  const state = { bound: !!app, ws: "pending", fetch: "pending", conn_error: "" };
  if (app) {
    app.Connection().then((c) => {
      fetch(new URL("api/v1/files?path=", c.base_url), { headers: { Authorization: "Bearer " + c.token }, cache: "no-store" })
        .then((r) => { state.fetch = String(r.status); }, (e) => { state.fetch = "error: " + e; });
      const u = new URL("api/v1/files/watch", c.base_url);
      u.protocol = "ws:";
      u.searchParams.set("access_token", c.token);
      const ws = new WebSocket(u.href);
      ws.onopen = () => { state.ws = "open"; ws.close(1000); };
      ws.onerror = () => { if (state.ws === "pending") state.ws = "error"; };
    }, (e) => { state.conn_error = String(e); });
  }
  let last = "";
  const report = () => {
    const text = (el) => (el.textContent || "").trim();
    const r = Object.assign({}, state, {
      ui: document.querySelector('meta[name="gatewave-fallback"]') ? "fallback" : "ide",
      origin: location.origin,
      href: location.href,
      title: document.title,
      tree: [...document.querySelectorAll('[data-testid="file-tree"] [role="treeitem"]')].map((e) => e.getAttribute("data-path") || text(e)),
      errors: [...document.querySelectorAll('[role="alert"], [data-testid="error-banner"], .error-banner')].map(text).filter(Boolean),
      editor: !!document.querySelector('.cm-editor .cm-content[contenteditable="true"]'),
      trust_banner: !!document.querySelector('[data-testid="trust-banner"]:not([hidden])'),
      trust_answered: Number((document.querySelector('[data-testid="trust-banner"]') || { dataset: {} }).dataset.answered || 0),
      trust_button: !!document.querySelector('[data-testid="trust-banner"]:not([hidden]) [data-testid="trust-folder"]:not([disabled])'),
      webusb: "usb" in navigator,
    });
    const s = JSON.stringify(r);
    if (s !== last) {
      last = s;
      window.runtime.EventsEmit("gatewave:probe", s);
    }
  };
  setInterval(report, 50);
  report();
})();
