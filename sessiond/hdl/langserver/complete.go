package langserver

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"gatewave.dev/sessiond/hdl/design"
	"gatewave.dev/sessiond/hdl/project"
)

// completer builds one completion answer. It never waits on anything
// outside the index: every item comes from the model in memory.
type completer struct {
	s      *Server
	v      *project.Snapshot
	src    *project.Source
	off    int
	w      *project.Where
	prefix string
	start  int // where the prefix begins
	items  []CompletionItem
	seen   map[string]bool
	// incomplete tells the client to ask again as the user types: the
	// list was cut to what the prefix matches.
	incomplete bool
}

// maxModuleItems bounds the instantiation snippets in one answer; the
// rest come as the prefix narrows them.
const maxModuleItems = 60

func (c *completer) add(it CompletionItem) {
	if c.seen[it.Label] {
		return
	}
	if c.prefix != "" && !matchesPrefix(it.Label, c.prefix) {
		c.incomplete = true
		return
	}
	c.seen[it.Label] = true
	c.items = append(c.items, it)
}

func (s *Server) completion(raw json.RawMessage) (any, error) {
	if q, err := s.parsePos(raw); err == nil && isPinFile(q.rel) {
		var out CompletionList
		s.proj.View(func(v *project.Snapshot) {
			text := s.pinText(v, q.rel)
			out = s.pinCompletion(v, q.rel, project.NewLines(text).Offset(q.pos.Line, q.pos.Character, !s.utf8))
		})
		return out, nil
	}
	var out CompletionList
	err := s.atPos(raw, func(v *project.Snapshot, src *project.Source, off int) {
		c := &completer{s: s, v: v, src: src, off: off, seen: map[string]bool{}}
		c.run()
		out.Items, out.IsIncomplete = c.items, c.incomplete
	})
	out.Items = orEmpty(out.Items)
	return out, err
}

// matchesPrefix is the client's own filter, loosely: the first letter
// matches and the rest of the prefix appears in order, ignoring case.
func matchesPrefix(label, prefix string) bool {
	l, p := strings.ToLower(strings.TrimLeft(label, "$`.")), strings.ToLower(strings.TrimLeft(prefix, "$`"))
	if p == "" {
		return true
	}
	if l == "" || l[0] != p[0] {
		return false
	}
	return fuzzy(l, p)
}

func (c *completer) vhdl() bool { return c.src.Lang == design.VHDL }

func (c *completer) run() {
	text := c.src.Src
	a := c.off
	for a > 0 && isIdentByte(text[a-1]) {
		a--
	}
	c.start, c.prefix = a, string(text[a:c.off])
	c.w = c.v.At(c.src.Path, c.off)
	if insideCommentOrString(c.src, c.off) {
		return
	}
	before := byteBefore(text, a)
	switch {
	case before == '`':
		c.macros()
		return
	case strings.HasPrefix(c.prefix, "$"):
		c.systemTasks()
		return
	case a >= 2 && text[a-1] == ':' && text[a-2] == ':':
		c.packageItems(wordBefore(text, a-2))
		return
	}
	if ctx := instanceContextAt(c.src, c.w, c.off, a); ctx != nil {
		if c.instanceItems(ctx, before == '.') {
			return
		}
	}
	if before == '.' && !c.vhdl() {
		c.members(a - 1)
		return
	}
	if c.vhdl() && before == '.' {
		// work.<entity>, ieee.<package>
		lib := strings.ToLower(wordBefore(text, a-1))
		if lib == "work" {
			for _, u := range c.v.AllUnits() {
				if u.Unit.Kind == design.UnitEntity || u.Unit.Kind == design.UnitPackage {
					c.add(CompletionItem{Label: u.Unit.Name, Kind: ciModule, Detail: unitKindName(u.Unit.Kind) + " · " + u.Source.Path})
				}
			}
			return
		}
		c.members(a - 1)
		return
	}
	c.scopeItems()
	if c.w.Unit == nil || atStatementStart(text, a) {
		// Where a module item starts, a module is likelier than a signal.
		c.moduleItems("0")
	}
	c.keywords()
}

func byteBefore(b []byte, i int) byte {
	if i <= 0 || i > len(b) {
		return 0
	}
	return b[i-1]
}

// wordBefore is the identifier that ends at end.
func wordBefore(b []byte, end int) string {
	i := end
	for i > 0 && isIdentByte(b[i-1]) {
		i--
	}
	return string(b[i:end])
}

func insideCommentOrString(src *project.Source, off int) bool {
	if src.File == nil {
		return false
	}
	for _, t := range src.File.Tokens {
		if t.Start >= off {
			break
		}
		if (t.Kind == design.TokComment || t.Kind == design.TokString) && off > t.Start && off < t.End {
			return true
		}
		if t.Kind == design.TokComment && off == t.End && t.End <= len(src.Src) && t.End > t.Start+1 && src.Src[t.Start+1] == '/' && (t.End == len(src.Src) || src.Src[t.End] == '\n') {
			return true // end of a line comment
		}
	}
	return false
}

// atStatementStart reports whether the prefix at a begins a statement or
// module item (after ';', 'begin', 'end', ')' of a port list, or a line
// start after one of those).
func atStatementStart(b []byte, a int) bool {
	i := a
	for i > 0 && (b[i-1] == ' ' || b[i-1] == '\t' || b[i-1] == '\n' || b[i-1] == '\r') {
		i--
	}
	if i == 0 {
		return true
	}
	switch b[i-1] {
	case ';', ')':
		return true
	}
	w := strings.ToLower(wordBefore(b, i))
	switch w {
	case "begin", "end", "generate", "endgenerate", "else", "is", "endcase", "endfunction", "endtask", "join", "join_any", "join_none":
		return true
	}
	// After a directive line (`endif, `include "x", `define ...).
	ls := i
	for ls > 0 && b[ls-1] != '\n' {
		ls--
	}
	for ls < i && (b[ls] == ' ' || b[ls] == '\t') {
		ls++
	}
	return ls < i && b[ls] == '`'
}

func widthDetail(ev *project.Eval, d *design.Decl, lang design.Lang) string {
	detail := strings.TrimSpace(d.Dir.String() + " " + d.Type.Text)
	if lang == design.VHDL && d.Kind == design.DeclPort {
		detail = strings.TrimSpace(vhdlDir(d.Dir) + " " + d.Type.Text)
	}
	if ev != nil && isSized(d) {
		if n, ok := ev.Width(d); ok && n > 1 {
			detail += fmt.Sprintf(" (%d bits)", n)
		}
	}
	if k := declKindName(d); detail == "" {
		detail = k
	} else if d.Kind != design.DeclPort {
		detail = k + " · " + detail
	}
	return detail
}

func declItemKind(d *design.Decl) int {
	switch d.Kind {
	case design.DeclPort, design.DeclInterfacePort:
		return ciProperty
	case design.DeclParam, design.DeclLocalParam, design.DeclConstant, design.DeclGenvar:
		return ciConstant
	case design.DeclTypedef:
		if d.Type.Aggregate == "enum" {
			return ciEnum
		}
		if d.Type.Aggregate != "" {
			return ciStruct
		}
		return ciTypeParameter
	case design.DeclEnumMember:
		return ciEnumMember
	case design.DeclField:
		return ciField
	case design.DeclFunction, design.DeclTask:
		return ciFunction
	case design.DeclComponent:
		return ciModule
	case design.DeclClass:
		return ciClass
	case design.DeclModport:
		return ciInterface
	}
	return ciVariable
}

func (c *completer) declItem(ev *project.Eval, d *design.Decl, sort string) CompletionItem {
	it := CompletionItem{Label: d.Name, Kind: declItemKind(d), Detail: widthDetail(ev, d, c.src.Lang), SortText: sort + d.Name}
	if d.Doc != "" {
		it.Documentation = &MarkupContent{Kind: "markdown", Value: d.Doc}
	}
	if d.Kind == design.DeclFunction || d.Kind == design.DeclTask {
		it.InsertText = d.Name + "(${1})"
		it.InsertTextFormat = 2
	}
	return it
}

// scopeItems are the names visible here, innermost first.
func (c *completer) scopeItems() {
	w := c.w
	ev := c.v.NewEval(w)
	for i := len(w.Chain) - 1; i >= 0; i-- {
		sc := w.Chain[i]
		for _, d := range sc.Decls {
			if d.Span.Start < c.off || d.Span.File != c.src.Path || i == 0 {
				c.add(c.declItem(ev, d, "1"))
			}
		}
		if sc.Decl != nil {
			for _, d := range sc.Decl.Members {
				c.add(c.declItem(ev, d, "1"))
			}
		}
		for _, in := range sc.Instances {
			c.add(CompletionItem{Label: in.Name, Kind: ciValue, Detail: "instance of " + in.Module, SortText: "3" + in.Name})
		}
		c.importItems(sc.Imports)
	}
	if u := w.Unit; u != nil {
		for _, d := range u.Ports {
			c.add(c.declItem(ev, d, "0"))
		}
		for _, d := range u.Params {
			c.add(c.declItem(ev, d, "0"))
		}
		if u.Kind == design.UnitArchitecture {
			for _, e := range c.v.Units(u.Of, design.VHDL) {
				if e.Unit.Kind != design.UnitEntity {
					continue
				}
				eev := c.v.NewEval(&project.Where{Source: e.Source, Unit: e.Unit})
				for _, d := range e.Unit.Ports {
					c.add(c.declItem(eev, d, "0"))
				}
				for _, d := range e.Unit.Params {
					c.add(c.declItem(eev, d, "0"))
				}
				if e.Unit.Body != nil {
					c.importItems(e.Unit.Body.Imports)
				}
			}
		}
	}
	if c.src.File != nil {
		for _, u := range c.src.File.Units {
			if u.Kind == design.UnitCompilation && u.Body != nil {
				for _, d := range u.Body.Decls {
					c.add(c.declItem(ev, d, "2"))
				}
				c.importItems(u.Body.Imports)
			}
		}
	}
	// Packages, for pkg::item.
	for _, u := range c.v.AllUnits() {
		if u.Unit.Kind == design.UnitPackage {
			c.add(CompletionItem{Label: u.Unit.Name, Kind: ciModule, Detail: "package · " + u.Source.Path, SortText: "4" + u.Unit.Name})
		}
	}
}

func (c *completer) importItems(imps []design.Import) {
	for _, im := range imps {
		for _, p := range c.v.Units(im.Pkg, c.src.Lang) {
			if p.Unit.Kind != design.UnitPackage {
				continue
			}
			ev := c.v.NewEval(&project.Where{Source: p.Source, Unit: p.Unit, Chain: chainOf(p.Unit)})
			all := im.Name == "*" || strings.EqualFold(im.Name, "all")
			for _, d := range p.Unit.Params {
				if all || d.Name == im.Name {
					c.add(c.declItem(ev, d, "2"))
				}
			}
			if p.Unit.Body != nil {
				for _, d := range p.Unit.Body.Decls {
					if all || d.Name == im.Name {
						c.add(c.declItem(ev, d, "2"))
					}
				}
			}
		}
	}
}

func chainOf(u *design.Unit) []*design.Scope {
	if u.Body == nil {
		return nil
	}
	return []*design.Scope{u.Body}
}

func (c *completer) packageItems(pkg string) {
	for _, p := range c.v.Units(pkg, c.src.Lang) {
		if p.Unit.Kind != design.UnitPackage {
			continue
		}
		ev := c.v.NewEval(&project.Where{Source: p.Source, Unit: p.Unit, Chain: chainOf(p.Unit)})
		for _, d := range p.Unit.Params {
			c.add(c.declItem(ev, d, "0"))
		}
		if p.Unit.Body != nil {
			for _, d := range p.Unit.Body.Decls {
				c.add(c.declItem(ev, d, "0"))
			}
		}
	}
}

func (c *completer) macros() {
	for name, m := range c.v.VisibleMacros(c.src.Path) {
		it := CompletionItem{Label: name, Kind: ciConstant, Detail: "`define " + strings.TrimSpace(name+" "+m.Body), SortText: "0" + name}
		if len(m.Params) > 0 {
			var ps []string
			for i, p := range m.Params {
				ps = append(ps, fmt.Sprintf("${%d:%s}", i+1, strings.SplitN(p, "=", 2)[0]))
			}
			it.InsertText, it.InsertTextFormat = name+"("+strings.Join(ps, ", ")+")", 2
		}
		if m.Doc != "" {
			it.Documentation = &MarkupContent{Kind: "markdown", Value: m.Doc}
		}
		c.add(it)
	}
	for _, d := range directives {
		c.add(CompletionItem{Label: d, Kind: ciKeyword, Detail: "compiler directive", SortText: "1" + d})
	}
}

var directives = []string{"define", "undef", "ifdef", "ifndef", "elsif", "else", "endif", "include", "timescale", "default_nettype", "resetall", "celldefine", "endcelldefine", "line", "pragma", "__FILE__", "__LINE__"}

var systemTasks = map[string]string{
	"$display": "print a line", "$write": "print without newline", "$strobe": "print at the end of the time step", "$monitor": "print whenever an argument changes",
	"$finish": "end the simulation", "$stop": "pause the simulation", "$fatal": "report a fatal error", "$error": "report an error", "$warning": "report a warning", "$info": "report information",
	"$time": "simulation time", "$realtime": "simulation time as real", "$random": "random 32-bit value", "$urandom": "unsigned random value", "$urandom_range": "random value in a range",
	"$clog2": "ceiling of log2", "$bits": "width in bits", "$signed": "as signed", "$unsigned": "as unsigned", "$size": "size of a dimension", "$high": "upper bound", "$low": "lower bound",
	"$countones": "number of 1 bits", "$onehot": "exactly one bit set", "$onehot0": "at most one bit set", "$isunknown": "any bit x or z",
	"$readmemh": "load a memory from a hex file", "$readmemb": "load a memory from a binary file", "$dumpfile": "VCD file name", "$dumpvars": "dump variables to VCD",
	"$sformatf": "format to a string", "$fopen": "open a file", "$fclose": "close a file", "$fwrite": "write to a file", "$fdisplay": "print a line to a file",
	"$past": "value in an earlier cycle", "$rose": "rose since the last cycle", "$fell": "fell since the last cycle", "$stable": "unchanged since the last cycle",
}

func (c *completer) systemTasks() {
	for name, doc := range systemTasks {
		c.add(CompletionItem{Label: name, Kind: ciFunction, Detail: doc, InsertText: name[1:] + "(${1})", InsertTextFormat: 2, FilterText: name,
			TextEdit: &TextEdit{Range: c.prefixRange(), NewText: name + "(${1})"}})
	}
}

func (c *completer) prefixRange() Range {
	return c.s.rangeOf(c.src.Lines(), c.start, c.off)
}

// members completes after "x." : struct fields, an instance's ports and
// signals, an interface's signals and modports.
func (c *completer) members(dot int) {
	text := c.src.Src
	// The chain before the dot: a.b.c
	var parts []string
	end := dot
	for {
		wd := wordBefore(text, end)
		if wd == "" {
			break
		}
		parts = append([]string{wd}, parts...)
		end -= len(wd)
		if end > 0 && text[end-1] == '.' {
			end--
			continue
		}
		break
	}
	if len(parts) == 0 {
		return
	}
	y := c.v.Lookup(c.w, parts[0])
	for _, p := range parts[1:] {
		if y == nil {
			return
		}
		y = c.v.Member(y, p, c.src.Lang)
	}
	if y == nil {
		return
	}
	var decls []*design.Decl
	var ev *project.Eval
	switch y.Kind {
	case project.SymInstance:
		t := c.v.Module(y.Inst.Module, c.src.Lang)
		if t == nil {
			return
		}
		ev = c.v.ForInstance(c.w, y.Inst, *t)
		decls = append(decls, t.Unit.Ports...)
		if t.Unit.Body != nil {
			decls = append(decls, t.Unit.Body.Decls...)
		}
		for _, in := range t.Unit.Body.Instances {
			c.add(CompletionItem{Label: in.Name, Kind: ciValue, Detail: "instance of " + in.Module})
		}
	case project.SymUnit:
		decls = append(decls, y.Unit.Params...)
		if y.Unit.Body != nil {
			decls = append(decls, y.Unit.Body.Decls...)
		}
	case project.SymScope:
		decls = y.Scope.Decls
	case project.SymDecl:
		ev = c.v.NewEval(&project.Where{Source: y.OwnerSource, Unit: y.Owner, Chain: chainOf(y.Owner)})
		decls = c.typeMembers(y)
	}
	for _, d := range decls {
		c.add(c.declItem(ev, d, "0"))
	}
}

// typeMembers are the fields of y's struct type or the members of its
// interface.
func (c *completer) typeMembers(y *project.Symbol) []*design.Decl {
	t := y.Decl.Type
	w := &project.Where{Source: y.OwnerSource, Unit: y.Owner, Chain: chainOf(y.Owner)}
	for depth := 0; depth < 8; depth++ {
		if len(t.Members) > 0 {
			return t.Members
		}
		if t.Name == "" {
			return nil
		}
		base := strings.SplitN(t.Name, ".", 2)[0]
		if m := c.v.Module(base, c.src.Lang); m != nil && m.Unit.Kind == design.UnitInterface && !strings.Contains(base, "::") {
			var out []*design.Decl
			out = append(out, m.Unit.Ports...)
			if m.Unit.Body != nil {
				out = append(out, m.Unit.Body.Decls...)
			}
			return out
		}
		var td *project.Symbol
		if pkg, item, ok := strings.Cut(t.Name, "::"); ok {
			td = c.v.PackageMember(pkg, item, c.src.Lang)
		} else {
			td = c.v.Lookup(w, t.Name)
		}
		if td == nil || td.Kind != project.SymDecl || td.Decl.Kind != design.DeclTypedef {
			return nil
		}
		t = td.Decl.Type
		w = &project.Where{Source: td.OwnerSource, Unit: td.Owner, Chain: chainOf(td.Owner)}
	}
	return nil
}

// instCtx is an instance being written: its module, whether the cursor is
// in the parameter list or the port list, and what is connected already.
type instCtx struct {
	module    string
	params    bool
	connected map[string]bool
}

// instanceContextAt finds the instance whose list holds off: from the
// model when the parser has it, else from the text (a half-typed
// "fifo u1 (.clk(clk), ." the parser could not finish).
func instanceContextAt(src *project.Source, w *project.Where, off, a int) *instCtx {
	if in := w.Instance; in != nil {
		inside := func(sp design.Span) bool {
			return sp.File == src.Path && off > sp.Start && (off < sp.End || !closed(src.Src, sp))
		}
		inParams, inPorts := inside(in.ParamList), inside(in.PortList)
		if inParams || inPorts {
			ctx := &instCtx{module: in.Module, params: inParams && !inPorts, connected: map[string]bool{}}
			list := in.Ports
			if ctx.params {
				list = in.Params
			}
			for _, c := range list {
				if c.Name != "" && !(c.NameSpan.Start <= off && off <= c.NameSpan.End) {
					ctx.connected[strings.ToLower(c.Name)] = true
				}
			}
			return ctx
		}
	}
	return textInstanceContext(src, a)
}

func closed(b []byte, sp design.Span) bool {
	return sp.End > 0 && sp.End <= len(b) && b[sp.End-1] == ')'
}

// textInstanceContext scans back from a for the unmatched '(' of an
// instance: "MOD [#(...)] NAME (" (Verilog), "MOD #(" for parameters,
// "port map (" / "generic map (" after "entity work.MOD" or "NAME: MOD"
// (VHDL).
func textInstanceContext(src *project.Source, a int) *instCtx {
	b := src.Src
	depth := 0
	i := a - 1
	limit := max(0, a-20000)
	for ; i >= limit; i-- {
		switch b[i] {
		case ')':
			depth++
		case '(':
			if depth == 0 {
				goto open
			}
			depth--
		case ';':
			if depth == 0 {
				return nil
			}
		}
	}
	return nil
open:
	open := i
	connected := map[string]bool{}
	for j := open + 1; j < a; j++ {
		if b[j] == '.' && j+1 < len(b) && isIdentByte(b[j+1]) {
			k := j + 1
			for k < len(b) && isIdentByte(b[k]) {
				k++
			}
			if k < a {
				connected[strings.ToLower(string(b[j+1:k]))] = true
			}
		}
	}
	j := skipSpaceBack(b, open)
	if src.Lang == design.VHDL {
		kw := strings.ToLower(wordBefore(b, j))
		if kw != "map" {
			return nil
		}
		j = skipSpaceBack(b, j-len(kw))
		kind := strings.ToLower(wordBefore(b, j))
		// Find the unit: the word after "entity work." or after "label :".
		head := strings.ToLower(string(b[max(0, j-2000):j]))
		semi := strings.LastIndexByte(head, ';')
		stmt := head[semi+1:]
		fields := strings.FieldsFunc(stmt, func(r rune) bool {
			return r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == ':' || r == '(' || r == ')'
		})
		mod := ""
		for k, f := range fields {
			if f == "entity" && k+1 < len(fields) {
				mod = fields[k+1]
				if dot := strings.LastIndexByte(mod, '.'); dot >= 0 {
					mod = mod[dot+1:]
				}
				break
			}
			if f == "component" && k+1 < len(fields) {
				mod = fields[k+1]
				break
			}
		}
		if mod == "" && len(fields) >= 2 {
			mod = fields[1]
		}
		if mod == "" {
			return nil
		}
		// Connected formals: "name =>".
		seg := string(b[open+1 : a])
		for _, part := range strings.Split(seg, ",") {
			if k := strings.Index(part, "=>"); k > 0 {
				connected[strings.ToLower(strings.TrimSpace(part[:k]))] = true
			}
		}
		return &instCtx{module: mod, params: kind == "generic", connected: connected}
	}
	if j > 0 && b[j-1] == '#' {
		mod := wordBefore(b, skipSpaceBack(b, j-1))
		if mod == "" {
			return nil
		}
		return &instCtx{module: mod, params: true, connected: connected}
	}
	name := wordBefore(b, j)
	if name == "" {
		return nil
	}
	k := skipSpaceBack(b, j-len(name))
	// Skip an instance array's [..] and a #(...) parameter list.
	if k > 0 && b[k-1] == ')' {
		d := 0
		for k--; k >= 0; k-- {
			if b[k] == ')' {
				d++
			} else if b[k] == '(' {
				d--
				if d == 0 {
					break
				}
			}
		}
		k = skipSpaceBack(b, k)
		if k > 0 && b[k-1] == '#' {
			k = skipSpaceBack(b, k-1)
		}
	}
	mod := wordBefore(b, k)
	if mod == "" {
		return nil
	}
	return &instCtx{module: mod, connected: connected}
}

func skipSpaceBack(b []byte, i int) int {
	for i > 0 && (b[i-1] == ' ' || b[i-1] == '\t' || b[i-1] == '\n' || b[i-1] == '\r') {
		i--
	}
	return i
}

// instanceItems completes a port or parameter list: what is not connected
// yet, with direction and width; each inserts ".name(signal)" connected to
// a same-named signal where there is one.
func (c *completer) instanceItems(ctx *instCtx, afterDot bool) bool {
	t := c.v.Module(ctx.module, c.src.Lang)
	if t == nil {
		return false
	}
	vh := c.vhdl()
	list := t.Unit.Ports
	if ctx.params {
		list = headerParams(t.Unit)
	}
	var ev *project.Eval
	if c.w.Instance != nil && strings.EqualFold(c.w.Instance.Module, ctx.module) {
		ev = c.v.ForInstance(c.w, c.w.Instance, *t)
	} else {
		ev = c.v.NewEval(&project.Where{Source: t.Source, Unit: t.Unit, Chain: chainOf(t.Unit)})
	}
	for i, p := range list {
		if ctx.connected[strings.ToLower(p.Name)] {
			continue
		}
		actual := "${1}"
		switch {
		case ctx.params && p.Value != nil:
			actual = "${1:" + snippetEscape(c.v.SpanText(p.Value.Span)) + "}"
		case ctx.params:
			actual = "${1:" + p.Name + "}"
		case c.signalNamed(p.Name):
			actual = p.Name
		case vh:
			actual = "${1:open}"
		}
		var insert string
		switch {
		case vh:
			insert = p.Name + " => " + actual
		case afterDot:
			insert = p.Name + "(" + actual + ")"
		default:
			insert = "." + p.Name + "(" + actual + ")"
		}
		detail := widthDetail(ev, p, t.Source.Lang)
		it := CompletionItem{
			Label: p.Name, Kind: ciProperty, Detail: detail,
			SortText:   fmt.Sprintf("0%04d", i),
			InsertText: insert, InsertTextFormat: 2,
		}
		if ctx.params {
			it.Kind = ciConstant
		}
		if p.Doc != "" {
			it.Documentation = &MarkupContent{Kind: "markdown", Value: p.Doc}
		}
		c.add(it)
	}
	return true
}

func snippetEscape(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `$`, `\$`, `}`, `\}`)
	return r.Replace(s)
}

// moduleItems offer each module, interface and entity; choosing one
// writes the whole instantiation with every parameter and port named,
// connected to same-named signals where they exist.
func (c *completer) moduleItems(rank string) {
	n := 0
	for _, u := range c.v.AllUnits() {
		switch u.Unit.Kind {
		case design.UnitModule, design.UnitInterface, design.UnitEntity:
		default:
			continue
		}
		if c.w.Unit != nil && u.Unit == c.w.Unit {
			continue
		}
		if c.seen[u.Unit.Name] || c.prefix != "" && !matchesPrefix(u.Unit.Name, c.prefix) {
			continue
		}
		if n >= maxModuleItems {
			c.incomplete = true
			break
		}
		n++
		it := CompletionItem{
			Label: u.Unit.Name, Kind: ciModule,
			Detail:     unitKindName(u.Unit.Kind) + " · " + u.Source.Path,
			SortText:   rank + "0" + u.Unit.Name,
			InsertText: c.instantiation(u), InsertTextFormat: 2,
		}
		if u.Unit.Doc != "" {
			it.Documentation = &MarkupContent{Kind: "markdown", Value: u.Unit.Doc}
		}
		c.add(it)
	}
}

func (c *completer) instantiation(u project.UnitRef) string {
	params := headerParams(u.Unit)
	// The instance name is the first stop; then the parameters and the
	// ports in order.
	n := 2
	ph := func(def string) string {
		s := fmt.Sprintf("${%d:%s}", n, snippetEscape(def))
		n++
		return s
	}
	// A port is connected to the same-named signal where there is one,
	// else left empty (VHDL: open) for the user to fill: a guessed name
	// would only be an undeclared identifier.
	actual := func(p *design.Decl) string {
		if c.signalNamed(p.Name) {
			return p.Name
		}
		if c.vhdl() {
			return ph("open")
		}
		s := fmt.Sprintf("${%d}", n)
		n++
		return s
	}
	first := func(def string) string { return "${1:" + snippetEscape(def) + "}" }
	width := 0
	for _, p := range u.Unit.Ports {
		width = max(width, len(p.Name))
	}
	pwidth := 0
	for _, p := range params {
		pwidth = max(pwidth, len(p.Name))
	}
	name := "u_" + strings.ToLower(u.Unit.Name)
	var b strings.Builder
	if c.vhdl() {
		// The label comes first in VHDL.
		b.WriteString(first(name) + " : entity work." + u.Unit.Name)
		if len(params) > 0 {
			b.WriteString("\n\tgeneric map (")
			for i, p := range params {
				def := p.Name
				if p.Value != nil {
					def = c.v.SpanText(p.Value.Span)
				}
				b.WriteString("\n\t\t" + pad(p.Name, pwidth) + " => " + ph(def))
				if i < len(params)-1 {
					b.WriteString(",")
				}
			}
			b.WriteString("\n\t)")
		}
		if len(u.Unit.Ports) > 0 {
			b.WriteString("\n\tport map (")
			for i, p := range u.Unit.Ports {
				b.WriteString("\n\t\t" + pad(p.Name, width) + " => " + actual(p))
				if i < len(u.Unit.Ports)-1 {
					b.WriteString(",")
				}
			}
			b.WriteString("\n\t)")
		}
		b.WriteString(";")
		return b.String()
	}
	b.WriteString(u.Unit.Name)
	if len(params) > 0 {
		b.WriteString(" #(")
		for i, p := range params {
			def := p.Name
			if p.Value != nil {
				def = c.v.SpanText(p.Value.Span)
			}
			b.WriteString("\n\t." + pad(p.Name, pwidth) + " (" + ph(def) + ")")
			if i < len(params)-1 {
				b.WriteString(",")
			}
		}
		b.WriteString("\n)")
	}
	b.WriteString(" " + first(name) + " (")
	for i, p := range u.Unit.Ports {
		b.WriteString("\n\t." + pad(p.Name, width) + " (" + actual(p) + ")")
		if i < len(u.Unit.Ports)-1 {
			b.WriteString(",")
		}
	}
	if len(u.Unit.Ports) > 0 {
		b.WriteString("\n")
	}
	b.WriteString(");")
	return b.String()
}

func pad(s string, n int) string {
	if len(s) >= n {
		return s
	}
	return s + strings.Repeat(" ", n-len(s))
}

type snippet struct{ label, body, detail string }

var svSnippets = []snippet{
	{"module", "module ${1:name} (\n\tinput  logic clk,\n\tinput  logic rst_n${2}\n);\n\t${0}\nendmodule", "module declaration"},
	{"always_ff", "always_ff @(posedge ${1:clk}) begin\n\t${0}\nend", "clocked process"},
	{"always_comb", "always_comb begin\n\t${0}\nend", "combinational process"},
	{"always", "always @(posedge ${1:clk}) begin\n\t${0}\nend", "clocked always block"},
	{"initial", "initial begin\n\t${0}\nend", "initial block"},
	{"case", "case (${1:sel})\n\t${2:0}: ${3};\n\tdefault: ${0};\nendcase", "case statement"},
	{"if", "if (${1:cond}) begin\n\t${0}\nend", "if statement"},
	{"for", "for (int ${1:i} = 0; ${1:i} < ${2:N}; ${1:i}++) begin\n\t${0}\nend", "for loop"},
	{"generate", "generate\n\tfor (genvar ${1:i} = 0; ${1:i} < ${2:N}; ${1:i}++) begin : ${3:gen}\n\t\t${0}\n\tend\nendgenerate", "generate loop"},
	{"function", "function automatic ${1:logic} ${2:name}(input ${3:logic} ${4:a});\n\t${0}\nendfunction", "function"},
	{"task", "task automatic ${1:name}();\n\t${0}\nendtask", "task"},
	{"typedef enum", "typedef enum logic [${1:1}:0] {\n\t${2:IDLE},\n\t${3:RUN}\n} ${4:state_t};", "enumeration type"},
	{"typedef struct", "typedef struct packed {\n\t${1:logic [7:0]} ${2:field};\n} ${3:name_t};", "packed struct type"},
	{"package", "package ${1:name}_pkg;\n\t${0}\nendpackage", "package"},
	{"interface", "interface ${1:name}_if;\n\t${0}\n\tmodport master (${2});\nendinterface", "interface"},
}

var vhdlSnippets = []snippet{
	{"entity", "entity ${1:name} is\n\tport (\n\t\tclk : in std_logic${2}\n\t);\nend entity;\n\narchitecture rtl of ${1:name} is\nbegin\n\t${0}\nend architecture;", "entity and architecture"},
	{"process", "process (${1:clk})\nbegin\n\tif rising_edge(${1:clk}) then\n\t\t${0}\n\tend if;\nend process;", "clocked process"},
	{"signal", "signal ${1:name} : ${2:std_logic};", "signal declaration"},
	{"if", "if ${1:cond} then\n\t${0}\nend if;", "if statement"},
	{"case", "case ${1:sel} is\n\twhen ${2:others} => ${0}\nend case;", "case statement"},
	{"for generate", "${1:gen}: for ${2:i} in 0 to ${3:N-1} generate\n\t${0}\nend generate;", "generate loop"},
}

var svKeywords = strings.Fields(`assign wire reg logic bit input output inout parameter localparam begin end
if else case casez casex endcase default for while repeat forever posedge negedge or and not
module endmodule function endfunction task endtask generate endgenerate genvar integer int
typedef enum struct packed union signed unsigned package endpackage import interface endinterface modport
always always_ff always_comb always_latch initial final unique priority return automatic`)

var vhdlKeywords = strings.Fields(`library use entity architecture is begin end port map generic signal constant variable
process if then elsif else case when others for loop while generate component type subtype array of record
in out inout buffer downto to std_logic std_logic_vector unsigned signed integer natural boolean
rising_edge falling_edge and or not xor nand nor wait until after report severity assert function procedure return package body all work ieee`)

func (c *completer) keywords() {
	snips, kws := svSnippets, svKeywords
	if c.vhdl() {
		snips, kws = vhdlSnippets, vhdlKeywords
	}
	for _, s := range snips {
		c.add(CompletionItem{Label: s.label, Kind: ciSnippet, Detail: s.detail, InsertText: s.body, InsertTextFormat: 2, SortText: "8" + s.label})
	}
	for _, k := range kws {
		c.add(CompletionItem{Label: k, Kind: ciKeyword, SortText: "9" + k})
	}
	sort.SliceStable(c.items, func(i, j int) bool { return c.items[i].SortText < c.items[j].SortText })
}

// signalNamed reports whether a net, variable, signal or port of that name
// is visible here (something a port can be connected to).
func (c *completer) signalNamed(name string) bool {
	y := c.v.Lookup(c.w, name)
	if y == nil || y.Kind != project.SymDecl {
		return false
	}
	switch y.Decl.Kind {
	case design.DeclPort, design.DeclNet, design.DeclVar, design.DeclSignal, design.DeclInterfacePort:
		return true
	}
	return false
}
