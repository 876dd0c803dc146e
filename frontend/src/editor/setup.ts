// The editor's base configuration: a trimmed basicSetup plus the IDE's keys.
import { autocompletion, closeBrackets, closeBracketsKeymap, completionKeymap } from "@codemirror/autocomplete";
import { defaultKeymap, history, historyKeymap, indentWithTab } from "@codemirror/commands";
import { bracketMatching, foldGutter, foldKeymap, HighlightStyle, indentOnInput, indentUnit, syntaxHighlighting } from "@codemirror/language";
import { lintGutter, lintKeymap } from "@codemirror/lint";
import { highlightSelectionMatches, search, searchKeymap } from "@codemirror/search";
import { Compartment, EditorState, type Extension, Prec } from "@codemirror/state";
import { crosshairCursor, drawSelection, dropCursor, EditorView, highlightActiveLine, highlightActiveLineGutter, highlightSpecialChars, keymap, lineNumbers, rectangularSelection } from "@codemirror/view";
import { tags as t } from "@lezer/highlight";
import { foldingChangedBy } from "../lsp/folding";

export function baseExtensions(): Extension[] {
  return [
    lineNumbers(),
    highlightActiveLineGutter(),
    highlightSpecialChars(),
    history(),
    foldGutter({ foldingChanged: foldingChangedBy }),
    lintGutter(),
    drawSelection(),
    dropCursor(),
    indentOnInput(),
    bracketMatching(),
    closeBrackets(),
    autocompletion(),
    rectangularSelection(),
    crosshairCursor(),
    highlightActiveLine(),
    highlightSelectionMatches(),
    search({ top: true }),
    keymap.of([
      ...closeBracketsKeymap,
      ...defaultKeymap,
      ...ideSearchKeymap,
      ...historyKeymap,
      ...foldKeymap,
      ...completionKeymap,
      ...lintKeymap,
      indentWithTab,
    ]),
    themed,
    // The user's font and tab size; lowest precedence, so a file's .editorconfig and a Makefile's real tabs win.
    Prec.lowest(userConf.of(userExtension(current))),
  ];
}

// CodeMirror binds Shift-Mod-g to "find previous"; in the IDE Ctrl+Shift+G is Source Control, as in
// VS Code, so that binding is dropped here (Shift-F3 still finds the previous match).
const ideSearchKeymap = searchKeymap.map((b) => (b.key === "Mod-g" ? { ...b, shift: undefined } : b));

/** EditorPrefs are the user's settings an editor follows (ui/settings.ts). */
export interface EditorPrefs {
  fontSize: number;
  tabSize: number;
}

let current: EditorPrefs = { fontSize: 13, tabSize: 4 };
/** userConf holds every editor's EditorPrefs; reconfigure it with userExtension. */
export const userConf = new Compartment();

/** userExtension is prefs as editor extensions; it also becomes what new editors start with. */
export function userExtension(p: EditorPrefs): Extension {
  current = p;
  return [
    EditorState.tabSize.of(p.tabSize),
    indentUnit.of(" ".repeat(p.tabSize)),
    EditorView.theme({ "&": { fontSize: p.fontSize + "px" } }),
  ];
}

// The editor's colours are the page's CSS variables (styles.css, per [data-theme]), so a theme switch
// recolours every open editor without touching them. The mapping follows One Dark's roles.
const themed: Extension = [
  EditorView.theme({
    "&": { height: "100%", color: "var(--fg)", backgroundColor: "var(--bg-editor)" },
    ".cm-scroller": { fontFamily: "var(--font-mono)", lineHeight: "1.5" },
    ".cm-content": { caretColor: "var(--cursor)" },
    ".cm-cursor, .cm-dropCursor": { borderLeftColor: "var(--cursor)" },
    "&.cm-focused > .cm-scroller > .cm-selectionLayer .cm-selectionBackground, .cm-selectionBackground, .cm-content ::selection": { backgroundColor: "var(--selection)" },
    ".cm-panels": { backgroundColor: "var(--bg-side)", color: "var(--fg)" },
    ".cm-panels.cm-panels-top": { borderBottom: "1px solid var(--border)" },
    ".cm-panels.cm-panels-bottom": { borderTop: "1px solid var(--border)" },
    // The find/replace panel's fields and buttons in the theme's colours (CodeMirror's own are light grey).
    ".cm-panel .cm-textfield": { backgroundColor: "var(--bg)", color: "var(--fg)", border: "1px solid var(--border)", borderRadius: "3px", padding: "2px 6px" },
    ".cm-panel .cm-textfield:focus": { outline: "1px solid var(--focus)", borderColor: "var(--focus)" },
    ".cm-panel .cm-button": { backgroundImage: "none", backgroundColor: "var(--bg-hover)", color: "var(--fg)", border: "1px solid var(--border)", borderRadius: "3px" },
    ".cm-panel .cm-button:hover": { backgroundColor: "var(--bg-active)" },
    ".cm-panel label": { color: "var(--fg)" },
    ".cm-panel.cm-search [name=close]": { color: "var(--fg-dim)" },
    ".cm-searchMatch": { backgroundColor: "var(--search-match)", outline: "1px solid var(--accent-strong)" },
    ".cm-searchMatch.cm-searchMatch-selected": { backgroundColor: "var(--selection)" },
    ".cm-activeLine": { backgroundColor: "var(--active-line)" },
    ".cm-selectionMatch": { backgroundColor: "var(--selection-match)" },
    "&.cm-focused .cm-matchingBracket, &.cm-focused .cm-nonmatchingBracket": { backgroundColor: "var(--selection)", outline: "1px solid var(--fg-dim)" },
    ".cm-gutters": { backgroundColor: "var(--bg-editor)", color: "var(--fg-dim)", border: "none" },
    ".cm-activeLineGutter": { backgroundColor: "var(--bg-hover)" },
    ".cm-foldPlaceholder": { backgroundColor: "transparent", border: "none", color: "var(--fg)" },
    ".cm-tooltip": { border: "1px solid var(--border)", backgroundColor: "var(--bg-side)", color: "var(--fg)" },
    ".cm-tooltip .cm-tooltip-arrow:before": { borderTopColor: "transparent", borderBottomColor: "transparent" },
    ".cm-tooltip .cm-tooltip-arrow:after": { borderTopColor: "var(--bg-side)", borderBottomColor: "var(--bg-side)" },
    ".cm-tooltip-autocomplete": { "& > ul > li[aria-selected]": { backgroundColor: "var(--accent-strong)", color: "var(--on-accent)" } },
  }),
  syntaxHighlighting(HighlightStyle.define([
    { tag: t.keyword, color: "var(--syn-keyword)" },
    { tag: [t.name, t.deleted, t.character, t.propertyName, t.macroName], color: "var(--syn-variable)" },
    { tag: [t.function(t.variableName), t.labelName], color: "var(--syn-function)" },
    { tag: [t.color, t.constant(t.name), t.standard(t.name)], color: "var(--syn-number)" },
    { tag: [t.definition(t.name), t.separator], color: "var(--fg)" },
    { tag: [t.typeName, t.className, t.number, t.changed, t.annotation, t.modifier, t.self, t.namespace], color: "var(--syn-type)" },
    { tag: [t.operator, t.operatorKeyword, t.url, t.escape, t.regexp, t.link, t.special(t.string)], color: "var(--syn-namespace)" },
    { tag: [t.meta, t.comment], color: "var(--syn-comment)" },
    { tag: t.strong, fontWeight: "bold" },
    { tag: t.emphasis, fontStyle: "italic" },
    { tag: t.strikethrough, textDecoration: "line-through" },
    { tag: t.link, color: "var(--syn-comment)", textDecoration: "underline" },
    { tag: t.heading, fontWeight: "bold", color: "var(--syn-variable)" },
    { tag: [t.atom, t.bool, t.special(t.variableName)], color: "var(--syn-number)" },
    { tag: [t.processingInstruction, t.string, t.inserted], color: "var(--syn-string)" },
    { tag: t.invalid, color: "var(--err)" },
  ])),
];
