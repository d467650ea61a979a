/// The page the query server serves at `/`: one HTML document with its styles and script
/// inline, so it needs nothing from any other server. It searches by text, lists results with
/// titles and similarities, shows a document's topic weights as bars, offers "more like this"
/// from every result, shows the model's topics (`/topics/view`), and says what went wrong
/// when a request fails. A token, when the server needs one, is asked for once and kept for
/// the browser tab.
enum WebPage {
    static let html = """
        <!DOCTYPE html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>Latent: explore</title>
        <style>
        * { box-sizing: border-box; }
        body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0; color: #1d232b; background: #f7f8fa; }
        header { background: #1d2b3a; color: #fff; padding: 0.8em 1.2em; display: flex; align-items: baseline; gap: 1em; flex-wrap: wrap; }
        header h1 { font-size: 1.25em; margin: 0; }
        header .info { color: #c9d3de; font-size: 0.9em; }
        main { max-width: 1200px; margin: 0 auto; padding: 1em 1.2em 3em; }
        form.search { display: flex; gap: 0.5em; margin: 0.5em 0 1em; }
        form.search input[type=search] { flex: 1; font-size: 1.05em; padding: 0.55em 0.7em; border: 1px solid #b8c0ca; border-radius: 6px; }
        button { font: inherit; padding: 0.5em 0.9em; border: 1px solid #2563a8; background: #2563a8; color: #fff; border-radius: 6px; cursor: pointer; }
        button.secondary { background: #fff; color: #2563a8; }
        button:disabled { opacity: 0.6; cursor: default; }
        #error { display: none; background: #fde8e8; color: #8a1c1c; border: 1px solid #f0b4b4; border-radius: 6px; padding: 0.6em 0.8em; margin-bottom: 1em; }
        #status { color: #5b6470; font-size: 0.9em; min-height: 1.3em; margin-bottom: 0.5em; }
        .columns { display: grid; grid-template-columns: minmax(0, 3fr) minmax(0, 2fr); gap: 1.2em; }
        @media (max-width: 800px) { .columns { grid-template-columns: 1fr; } }
        section.panel { background: #fff; border: 1px solid #e3e6ea; border-radius: 8px; padding: 0.8em 1em; }
        section.panel h2 { font-size: 1.05em; margin: 0 0 0.6em; }
        ol.results { list-style: none; margin: 0; padding: 0; }
        ol.results li.muted { display: block; border: none; }
        ol.results li { display: grid; grid-template-columns: 2.2em minmax(0, 1fr) auto; gap: 0.2em 0.6em; align-items: center; padding: 0.45em 0.2em; border-bottom: 1px solid #eef0f3; }
        ol.results li.selected { background: #eef4fb; }
        .rank { color: #5b6470; text-align: right; font-variant-numeric: tabular-nums; }
        .title { cursor: pointer; color: #1d4f86; overflow-wrap: anywhere; }
        .title:hover { text-decoration: underline; }
        .score { display: flex; align-items: center; gap: 0.4em; font-variant-numeric: tabular-nums; font-size: 0.9em; }
        .scorebar { width: 70px; height: 8px; background: #e9edf1; border-radius: 4px; overflow: hidden; }
        .scorebar span { display: block; height: 100%; background: #2563a8; }
        .scorebar span.negative { background: #d9822b; }
        .actions { grid-column: 2 / 4; }
        .actions button { font-size: 0.82em; padding: 0.2em 0.6em; }
        .muted { color: #5b6470; }
        #document svg { width: 100%; }
        details.topics-panel { margin-top: 1.2em; }
        details.topics-panel summary { cursor: pointer; font-weight: 600; font-size: 1.05em; padding: 0.4em 0; }
        #token-box { display: none; margin-bottom: 1em; }
        \(TopicViews.css)
        </style>
        </head>
        <body>
        <header><h1>Latent</h1><span class="info" id="info">loading…</span></header>
        <main>
        <div id="error" role="alert"></div>
        <form id="token-box" class="search"><input type="password" id="token" placeholder="This server needs a token" autocomplete="off"><button>Use token</button></form>
        <form class="search" id="search"><input type="search" id="query" placeholder="Search by text, e.g. graph minors trees" autofocus><button id="go">Search</button></form>
        <div id="status"></div>
        <div class="columns">
        <section class="panel"><h2 id="results-heading">Results</h2><ol class="results" id="results"><li class="muted">Type a query and press Search.</li></ol></section>
        <section class="panel" id="document"><h2>Document</h2><p class="muted">Click a result to see its topic weights.</p></section>
        </div>
        <details class="topics-panel" id="topics-panel" open><summary>Topics of the model</summary><div id="topics" class="muted">loading…</div></details>
        </main>
        <script>
        "use strict";
        const $ = (id) => document.getElementById(id);
        let token = sessionStorage.getItem("latent-token") || "";
        let health = null;

        function escapeHTML(text) {
          return String(text).replace(/[&<>"']/g, (c) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\\"": "&quot;", "'": "&#39;"}[c]));
        }
        function showError(message) { const box = $("error"); box.textContent = message; box.style.display = "block"; }
        function clearError() { $("error").style.display = "none"; }

        async function api(path, body) {
          const options = { method: body === undefined ? "GET" : "POST", headers: {} };
          if (token) options.headers["Authorization"] = "Bearer " + token;
          if (body !== undefined) { options.headers["Content-Type"] = "application/json"; options.body = JSON.stringify(body); }
          let response;
          try { response = await fetch(path, options); }
          catch (e) { throw new Error("The server cannot be reached (" + e.message + ")."); }
          const text = await response.text();
          if (response.status === 401) { $("token-box").style.display = "flex"; }
          if (!response.ok) {
            let message = text;
            try { message = JSON.parse(text).error || text; } catch (e) {}
            throw new Error(message + " (HTTP " + response.status + ")");
          }
          return path.endsWith("/view") ? text : JSON.parse(text);
        }

        function label(result) { return result.title ? result.title : "document " + result.document; }

        function showResults(results, heading) {
          $("results-heading").textContent = heading;
          const list = $("results");
          list.innerHTML = "";
          if (results.length === 0) { list.innerHTML = '<li class="muted">No similar documents.</li>'; return; }
          results.forEach((result, i) => {
            const item = document.createElement("li");
            item.dataset.document = result.document;
            const width = Math.max(0, Math.min(1, Math.abs(result.score))) * 100;
            item.innerHTML = '<span class="rank">' + (i + 1) + '</span>'
              + '<span class="title" title="document ' + result.document + '">' + escapeHTML(label(result)) + '</span>'
              + '<span class="score"><span class="scorebar"><span class="' + (result.score < 0 ? "negative" : "positive") + '" style="width:' + width.toFixed(1) + '%"></span></span>' + result.score.toFixed(3) + '</span>'
              + '<span class="actions"><span class="muted">#' + result.document + '</span> <button class="secondary more">more like this</button></span>';
            item.querySelector(".title").addEventListener("click", () => showDocument(result.document, item));
            item.querySelector(".more").addEventListener("click", () => moreLike(result));
            list.appendChild(item);
          });
        }

        async function run(what, request, heading) {
          clearError();
          $("go").disabled = true;
          $("status").textContent = "Searching…";
          const started = performance.now();
          try {
            const results = await api("/similar", request);
            $("status").textContent = results.length + " results in " + Math.round(performance.now() - started) + " ms";
            showResults(results, heading);
          } catch (e) {
            $("status").textContent = "";
            showError(what + " failed: " + e.message);
          } finally { $("go").disabled = false; }
        }

        function search(event) {
          if (event) event.preventDefault();
          const text = $("query").value.trim();
          if (!text) { showError("Type some words to search for."); return; }
          run("The search", { text: text, top: 20 }, "Results for “" + text + "”");
        }

        function moreLike(result) {
          run("More like this", { document: result.document, top: 20 }, "More like “" + label(result) + "”");
          showDocument(result.document, null);
        }

        async function showDocument(id, item) {
          document.querySelectorAll("ol.results li.selected").forEach((li) => li.classList.remove("selected"));
          if (item) item.classList.add("selected");
          const panel = $("document");
          try {
            panel.innerHTML = await api("/documents/" + id + "/view");
          } catch (e) { showError("The document could not be shown: " + e.message); }
        }

        async function start() {
          try {
            health = await api("/health");
            $("token-box").style.display = "none";
            $("info").textContent = health.documents.toLocaleString() + " documents · " + health.kind + " index of " + health.dimension
              + " dimensions" + (health.model ? " · " + health.model.toUpperCase() + " model" : "");
            if (!health.texts) { $("query").placeholder = "This index cannot take text queries (no vocabulary)"; }
            if (health.model) {
              $("topics").classList.remove("muted");
              $("topics").innerHTML = await api("/topics/view");
            } else {
              $("topics").textContent = "This index has no topic model.";
            }
          } catch (e) {
            $("info").textContent = "not connected";
            showError("The server could not be asked about its index: " + e.message);
          }
        }

        $("search").addEventListener("submit", search);
        $("token-box").addEventListener("submit", (event) => {
          event.preventDefault();
          token = $("token").value.trim();
          sessionStorage.setItem("latent-token", token);
          clearError();
          start();
        });
        start();
        </script>
        </body>
        </html>

        """
}
