// Markdown to HTML that is safe to insert into the page, with marked (https://marked.js.org), bundled into
// the app by scripts/bundle-js.sh. A JS library because the browser already carries the regex engine
// and Unicode tables a markdown parser needs: pulldown-cmark compiled to wasm was 63 KB gzip, marked is 12 KB.
//
// Model output can never inject markup: raw HTML renders as visible text; links keep only `http`, `https`,
// `mailto` and relative targets (no `javascript:` or `data:` URLs); images become plain links, so no request is
// made to an address chosen by the model. Code blocks get a copy button (the page handles its clicks).
// marked is pinned at 16.4.2 in package.json: 18.2 is 3 KB larger gzipped.
import { Marked } from "marked";

const escapes = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
const escape = (text) => text.replace(/[&<>"']/g, (c) => escapes[c]);

// A URL's scheme, once whitespace and control characters are removed (browsers ignore them there); a URL
// whose first `/`, `?` or `#` comes before any `:` is relative, which is safe.
function safeUrl(url) {
  const bare = url.replace(/[\s\u0000-\u001f\u007f-\u009f]/g, "").toLowerCase();
  const scheme = bare.match(/^([^:/?#]*):/);
  return !scheme || ["http", "https", "mailto"].includes(scheme[1]) ? url : "#";
}

const COPY_BUTTON = '<button type="button" class="copy-code" aria-label="Copy the code">Copy</button>';

const marked = new Marked({
  gfm: true,
  // Text after a raw `<pre>`, `<script>` or `<style>` tag is marked as already escaped; nothing from the model
  // is, so every text token is escaped when rendered.
  walkTokens(token) {
    if (token.type === "text") token.escaped = false;
  },
  renderer: {
    html: ({ text }) => escape(text),
    link(token) {
      token.href = safeUrl(token.href);
      return false; // marked's own link, with the checked URL
    },
    image: ({ href, text }) => `<a href="${escape(safeUrl(href))}">${escape(text)}</a>`,
    code({ text, lang }) {
      const language = (lang || "").match(/^\S*/)[0];
      const cls = language ? ` class="language-${escape(language)}"` : "";
      return `${COPY_BUTTON}<pre><code${cls}>${escape(text.replace(/\n$/, ""))}\n</code></pre>\n`;
    },
  },
});

export function renderMarkdown(markdown) {
  return marked.parse(markdown, { async: false });
}
