package langserver

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"gatewave.dev/sessiond/hdl/design"
	"gatewave.dev/sessiond/hdl/project"
)

func (s *Server) hover(raw json.RawMessage) (any, error) {
	if q, err := s.parsePos(raw); err == nil && isPinFile(q.rel) {
		var h *Hover
		s.proj.View(func(v *project.Snapshot) {
			text := s.pinText(v, q.rel)
			h = s.pinHover(v, q.rel, project.NewLines(text).Offset(q.pos.Line, q.pos.Character, !s.utf8))
		})
		if h == nil {
			return nil, nil
		}
		return h, nil
	}
	var res *Hover
	err := s.atPos(raw, func(v *project.Snapshot, src *project.Source, off int) {
		if inc := includeAt(src, off); inc != nil {
			text := "`include \"" + inc.Name + "\"` — "
			if inc.Resolved != "" {
				text += "`" + inc.Resolved + "`"
			} else {
				text += "not found in the workspace; set `include_dirs` in `.ide/hdl.toml` if it lives elsewhere"
			}
			r := s.rangeOf(src.Lines(), inc.Span.Start, inc.Span.End)
			res = &Hover{Contents: MarkupContent{Kind: "markdown", Value: text}, Range: &r}
			return
		}
		y, o := v.SymbolAt(src.Path, off)
		if y == nil || o == nil {
			return
		}
		md := s.describe(v, y, o)
		if md == "" {
			return
		}
		r := s.rangeOf(src.Lines(), o.Span.Start, o.Span.End)
		res = &Hover{Contents: MarkupContent{Kind: "markdown", Value: md}, Range: &r}
	})
	if res == nil || err != nil {
		return nil, err
	}
	return res, nil
}

func fence(lang design.Lang, code string) string {
	return "```" + lang.String() + "\n" + code + "\n```"
}

// evalFor is the evaluator that gives y's widths as seen from o: at an
// instance's connection, with that instance's parameter overrides.
func evalFor(v *project.Snapshot, y *project.Symbol, o *project.Occurrence) *project.Eval {
	if o != nil && (o.Kind == project.OccPort || o.Kind == project.OccParam) && o.Inst != nil {
		if t := v.Module(o.Inst.Module, o.Where.Source.Lang); t != nil {
			return v.ForInstance(o.Where, o.Inst, *t)
		}
	}
	w := &project.Where{Source: y.OwnerSource, Unit: y.Owner}
	if o != nil && o.Where != nil && o.Where.Unit == y.Owner {
		w = o.Where
	} else if y.Owner != nil && y.Owner.Body != nil {
		w.Chain = []*design.Scope{y.Owner.Body}
	}
	return v.NewEval(w)
}

// describe is the hover text of y: its declaration, resolved widths and
// values, and its comment.
func (s *Server) describe(v *project.Snapshot, y *project.Symbol, o *project.Occurrence) string {
	lang := design.Verilog
	if y.OwnerSource != nil {
		lang = y.OwnerSource.Lang
	} else if o != nil && o.Where != nil {
		lang = o.Where.Source.Lang
	}
	var b strings.Builder
	switch y.Kind {
	case project.SymMacro:
		m := y.Macro
		sig := "`define " + m.Name
		if len(m.Params) > 0 {
			sig += "(" + strings.Join(m.Params, ", ") + ")"
		}
		b.WriteString(fence(design.Verilog, sig+" "+m.Body))
		b.WriteString("\n\nDefined in `" + where(m.Span) + "`")
		if m.Doc != "" {
			b.WriteString("\n\n" + m.Doc)
		}
	case project.SymUnit:
		b.WriteString(fence(lang, s.unitSignature(v, y)))
		if y.OwnerSource != nil {
			b.WriteString("\n\n" + unitKindName(y.Unit.Kind) + " in `" + y.OwnerSource.Path + "`")
		}
		if y.Unit.Doc != "" {
			b.WriteString("\n\n" + y.Unit.Doc)
		}
	case project.SymInstance:
		in := y.Inst
		b.WriteString(fence(lang, in.Module+" "+in.Name))
		if t := v.Module(in.Module, lang); t != nil {
			ev := v.ForInstance(&project.Where{Source: y.OwnerSource, Unit: y.Owner, Chain: chainFor(o)}, in, *t)
			var ps []string
			for _, p := range v.ParamValues(ev, t.Unit) {
				ps = append(ps, p.Name+" = "+p.Value)
			}
			b.WriteString("\n\nInstance of " + unitKindName(t.Unit.Kind) + " `" + t.Unit.Name + "` (`" + t.Source.Path + "`)")
			if len(ps) > 0 {
				b.WriteString("\n\nParameters: `" + strings.Join(ps, "`, `") + "`")
			}
		} else {
			b.WriteString("\n\n`" + in.Module + "` is not in the workspace")
		}
	case project.SymScope:
		b.WriteString(fence(lang, "begin : "+y.Scope.Name))
		b.WriteString("\n\nNamed block")
	case project.SymDecl:
		d := y.Decl
		ev := evalFor(v, y, o)
		b.WriteString(fence(lang, declSignature(v, d, lang)))
		var facts []string
		if n, ok := ev.Width(d); ok && isSized(d) {
			dims := ""
			for _, r := range d.Type.Packed {
				dims += ev.ResolvedRange(r, lang == design.VHDL)
			}
			if dims != "" && n > 1 {
				facts = append(facts, fmt.Sprintf("`%s` — %d bits", dims, n))
			} else {
				facts = append(facts, fmt.Sprintf("%d bit%s", n, plural(n)))
			}
		}
		for _, r := range d.Type.Unpacked {
			if rr := ev.ResolvedRange(r, lang == design.VHDL); rr != "" {
				facts = append(facts, "array "+rr)
			}
		}
		switch d.Kind {
		case design.DeclParam, design.DeclLocalParam, design.DeclConstant, design.DeclEnumMember:
			if n, ok := ev.Value(&design.Expr{Op: design.ExprIdent, Text: d.Name}); ok {
				facts = append(facts, "value `"+strconv.FormatInt(n, 10)+"`")
			} else if d.Kind == design.DeclEnumMember && d.Value != nil {
				if n, ok := ev.Value(d.Value); ok {
					facts = append(facts, "value `"+strconv.FormatInt(n, 10)+"`")
				}
			}
		}
		if o != nil && o.Kind == project.OccPort && o.Inst != nil {
			facts = append(facts, "port of `"+y.Owner.Name+"` at instance `"+o.Inst.Name+"`")
		} else if y.Owner != nil && y.Owner.Kind != design.UnitCompilation {
			facts = append(facts, declKindName(d)+" in "+unitKindName(y.Owner.Kind)+" `"+y.Owner.Name+"`")
		}
		if len(facts) > 0 {
			b.WriteString("\n\n" + strings.Join(facts, " · "))
		}
		if d.Doc != "" {
			b.WriteString("\n\n" + d.Doc)
		}
	}
	return b.String()
}

func chainFor(o *project.Occurrence) []*design.Scope {
	if o == nil || o.Where == nil {
		return nil
	}
	return o.Where.Chain
}

func plural(n int64) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func isSized(d *design.Decl) bool {
	switch d.Kind {
	case design.DeclPort, design.DeclNet, design.DeclVar, design.DeclSignal, design.DeclField, design.DeclArg, design.DeclTypedef:
		return true
	}
	return false
}

func unitKindName(k design.UnitKind) string {
	switch k {
	case design.UnitModule:
		return "module"
	case design.UnitInterface:
		return "interface"
	case design.UnitProgram:
		return "program"
	case design.UnitPackage:
		return "package"
	case design.UnitClass:
		return "class"
	case design.UnitEntity:
		return "entity"
	case design.UnitArchitecture:
		return "architecture"
	case design.UnitPackageBody:
		return "package body"
	case design.UnitConfiguration:
		return "configuration"
	case design.UnitPrimitive:
		return "primitive"
	case design.UnitChecker:
		return "checker"
	}
	return "unit"
}

func declKindName(d *design.Decl) string {
	switch d.Kind {
	case design.DeclPort:
		return "port"
	case design.DeclParam:
		return "parameter"
	case design.DeclLocalParam:
		return "localparam"
	case design.DeclNet:
		return "net"
	case design.DeclVar:
		return "variable"
	case design.DeclSignal:
		return "signal"
	case design.DeclConstant:
		return "constant"
	case design.DeclGenvar:
		return "genvar"
	case design.DeclTypedef:
		return "type"
	case design.DeclEnumMember:
		return "enum value"
	case design.DeclField:
		return "field"
	case design.DeclFunction:
		return "function"
	case design.DeclTask:
		return "task"
	case design.DeclArg:
		return "argument"
	case design.DeclModport:
		return "modport"
	case design.DeclComponent:
		return "component"
	case design.DeclInterfacePort:
		return "interface port"
	case design.DeclClass:
		return "class"
	}
	return "declaration"
}

// declSignature renders d as a declaration line.
func declSignature(v *project.Snapshot, d *design.Decl, lang design.Lang) string {
	t := d.Type.Text
	if lang == design.VHDL {
		switch d.Kind {
		case design.DeclPort:
			return fmt.Sprintf("%s : %s %s", d.Name, vhdlDir(d.Dir), t)
		case design.DeclParam:
			return fmt.Sprintf("%s : %s%s", d.Name, t, valueSuffix(v, d, " := "))
		case design.DeclSignal:
			return fmt.Sprintf("signal %s : %s", d.Name, t)
		case design.DeclConstant:
			return fmt.Sprintf("constant %s : %s%s", d.Name, t, valueSuffix(v, d, " := "))
		case design.DeclVar:
			return fmt.Sprintf("variable %s : %s", d.Name, t)
		case design.DeclTypedef:
			return fmt.Sprintf("type %s is %s", d.Name, t)
		case design.DeclComponent:
			return "component " + d.Name
		}
		return d.Name + " : " + t
	}
	join := func(parts ...string) string {
		var nz []string
		for _, p := range parts {
			if p != "" {
				nz = append(nz, p)
			}
		}
		return strings.Join(nz, " ")
	}
	unpacked := ""
	if len(d.Type.Unpacked) > 0 {
		// Type.Text holds the packed part; the unpacked dims follow the name.
		for _, r := range d.Type.Unpacked {
			unpacked += v.SpanText(r.Span)
		}
	}
	switch d.Kind {
	case design.DeclPort, design.DeclInterfacePort:
		return join(d.Dir.String(), t, d.Name+unpacked)
	case design.DeclParam:
		return join("parameter", t, d.Name) + valueSuffix(v, d, " = ")
	case design.DeclLocalParam:
		return join("localparam", t, d.Name) + valueSuffix(v, d, " = ")
	case design.DeclTypedef:
		return join("typedef", t, d.Name)
	case design.DeclEnumMember:
		return d.Name + valueSuffix(v, d, " = ")
	case design.DeclFunction:
		return join("function", t, d.Name) + "(" + argList(d) + ")"
	case design.DeclTask:
		return "task " + d.Name + "(" + argList(d) + ")"
	case design.DeclGenvar:
		return "genvar " + d.Name
	case design.DeclModport:
		return "modport " + d.Name
	}
	return join(t, d.Name+unpacked)
}

func argList(d *design.Decl) string {
	var as []string
	for _, m := range d.Members {
		if m.Kind == design.DeclArg || m.Kind == design.DeclPort {
			as = append(as, strings.TrimSpace(strings.Join([]string{m.Dir.String(), m.Type.Text, m.Name}, " ")))
		}
	}
	return strings.Join(as, ", ")
}

func vhdlDir(d design.Dir) string {
	switch d {
	case design.DirInput:
		return "in"
	case design.DirOutput:
		return "out"
	}
	return d.String()
}

func valueSuffix(v *project.Snapshot, d *design.Decl, sep string) string {
	if d.Value == nil {
		return ""
	}
	return sep + v.SpanText(d.Value.Span)
}

func (s *Server) unitSignature(v *project.Snapshot, y *project.Symbol) string {
	u := y.Unit
	lang := design.Verilog
	if y.OwnerSource != nil {
		lang = y.OwnerSource.Lang
	}
	var b strings.Builder
	// list writes "open\n  a<sep>\n  b\nclose" for the declarations.
	list := func(open, sep, indent, close string, ds []*design.Decl) {
		if len(ds) == 0 {
			return
		}
		b.WriteString(open)
		for i, d := range ds {
			if i > 0 {
				b.WriteString(sep)
			}
			b.WriteString("\n" + indent + declSignature(v, d, lang))
		}
		b.WriteString(close)
	}
	b.WriteString(unitKindName(u.Kind) + " " + u.Name)
	if lang == design.VHDL {
		if u.Of != "" {
			b.WriteString(" of " + u.Of)
		}
		b.WriteString(" is")
		list("\n  generic (", ";", "    ", "\n  );", u.Params)
		list("\n  port (", ";", "    ", "\n  );", u.Ports)
		b.WriteString("\nend " + unitKindName(u.Kind) + ";")
		return b.String()
	}
	list(" #(", ",", "  ", "\n)", headerParams(u))
	list(" (", ",", "  ", "\n)", u.Ports)
	b.WriteString(";")
	return b.String()
}

// headerParams are u's overridable parameters (not localparams).
func headerParams(u *design.Unit) []*design.Decl {
	var ps []*design.Decl
	for _, p := range u.Params {
		if p.Kind == design.DeclParam {
			ps = append(ps, p)
		}
	}
	return ps
}
