// Markdown to HTML that is safe to insert into the page: marked (https://marked.js.org) renders, DOMPurify
// (https://github.com/cure53/DOMPurify) sanitizes; both are bundled into the app by scripts/bundle-js.sh.
// A JS library because the browser already carries the regex engine and Unicode tables a markdown parser
// needs: pulldown-cmark compiled to wasm was 63 KB gzip, marked is 12 KB.
//
// Everything a model writes is hostile. The renderer below shapes the markup (raw HTML renders as visible
// text; images become plain links, so no request goes to an address a model chose; code blocks get a copy
// button, whose clicks the page handles). Safety is the sanitizer's: it parses the HTML as the browser will
// and keeps only an allow-list of tags and attributes, and a link only if its URL — as the browser reads
// it, entities decoded, whitespace and control characters removed, any case — is `http`, `https`,
// `mailto` or relative. marked is pinned at 16.4.2 in package.json: 18.2 is 3 KB larger gzipped.
import { Marked } from "marked";
import createDOMPurify from "dompurify";

const escapes = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
const escape = (text) => text.replace(/[&<>"']/g, (c) => escapes[c]);

const purify = createDOMPurify(window);
const SANITIZE = {
  ALLOWED_TAGS: ["a", "blockquote", "br", "button", "code", "del", "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr",
    "input", "li", "ol", "p", "pre", "strong", "table", "tbody", "td", "th", "thead", "tr", "ul"],
  ALLOWED_ATTR: ["align", "aria-label", "checked", "class", "disabled", "href", "start", "title", "type"],
  // A scheme other than these three is refused; a URL with no scheme (relative, `#x`) is kept.
  ALLOWED_URI_REGEXP: /^(?:(?:https?|mailto):|[^a-z]|[a-z+.-]+(?:[^a-z+.\-:]|$))/i,
  ALLOW_DATA_ATTR: false,
  ALLOW_ARIA_ATTR: false,
};
// Form controls only as marked and this renderer write them: a task list's disabled checkbox and the copy
// button (raw HTML from a model never gets this far, as it renders as text).
purify.addHook("afterSanitizeAttributes", (node) => {
  if (node.tagName === "INPUT") {
    node.setAttribute("type", "checkbox");
    node.setAttribute("disabled", "");
  } else if (node.tagName === "BUTTON") {
    node.setAttribute("type", "button");
    node.setAttribute("class", "copy-code");
  }
});

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
    image: ({ href, text }) => `<a href="${escape(href)}">${escape(text)}</a>`,
    code({ text, lang }) {
      const language = (lang || "").match(/^\S*/)[0];
      const cls = language ? ` class="language-${escape(language)}"` : "";
      return `${COPY_BUTTON}<pre><code${cls}>${escape(text.replace(/\n$/, ""))}\n</code></pre>\n`;
    },
  },
});

export function renderMarkdown(markdown) {
  return purify.sanitize(marked.parse(markdown, { async: false }), SANITIZE);
}
