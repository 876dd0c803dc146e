// A small Makefile mode (legacy-modes has none): comments, variable
// references, assignments, targets and recipe lines.
import { indentUnit, StreamLanguage, type StreamParser } from "@codemirror/language";
import { Prec, type Extension } from "@codemirror/state";

interface State {
  recipe: boolean;
}

const parser: StreamParser<State> = {
  name: "makefile",
  startState: () => ({ recipe: false }),
  token(stream, state) {
    if (stream.sol()) state.recipe = stream.peek() === "\t";
    if (stream.eatSpace()) return null;
    if (stream.peek() === "#") {
      stream.skipToEnd();
      return "comment";
    }
    if (stream.match(/^\$[({][^)}]*[)}]/) || stream.match(/^\$[@<^+?*%$]/)) return "variableName.special";
    if (stream.match(/^"(?:[^"\\]|\\.)*"?/) || stream.match(/^'(?:[^'\\]|\\.)*'?/)) return "string";
    if (!state.recipe) {
      if (stream.sol() || stream.column() === stream.indentation()) {
        if (stream.match(/^(ifeq|ifneq|ifdef|ifndef|else|endif|include|-include|define|endef|export|override)\b/)) return "keyword";
        if (stream.match(/^[A-Za-z_][\w.-]*(?=\s*(?:[:+?!]?=))/)) return "variableName.definition";
        if (stream.match(/^[^\s:#=]+(?=\s*:(?!=))/)) return "labelName";
      }
      if (stream.match(/^[:+?!]?=|^::?/)) return "operator";
    }
    stream.next();
    return null;
  },
};

/** makefile is the mode plus real tabs: a recipe line must start with a tab, so Tab and auto-indent insert one. */
export function makefile(): Extension {
  return [StreamLanguage.define(parser), Prec.high(indentUnit.of("\t"))];
}
