package verilog

// keyword flags: kwV is a Verilog-2005 (IEEE 1364-2005) reserved word, kwSV
// one that SystemVerilog-2017 (IEEE 1800-2017) adds.
const (
	kwV  = 1
	kwSV = 2
)

var keywords = func() map[string]uint8 {
	m := make(map[string]uint8, 260)
	for _, w := range v2005Words {
		m[w] = kwV
	}
	for _, w := range svWords {
		if m[w] == 0 {
			m[w] = kwSV
		}
	}
	return m
}()

var v2005Words = []string{
	"always", "and", "assign", "automatic", "begin", "buf", "bufif0", "bufif1", "case", "casex", "casez",
	"cell", "cmos", "config", "deassign", "default", "defparam", "design", "disable", "edge", "else",
	"end", "endcase", "endconfig", "endfunction", "endgenerate", "endmodule", "endprimitive",
	"endspecify", "endtable", "endtask", "event", "for", "force", "forever", "fork", "function",
	"generate", "genvar", "highz0", "highz1", "if", "ifnone", "incdir", "include", "initial", "inout",
	"input", "instance", "integer", "join", "large", "liblist", "library", "localparam",
	"macromodule", "medium", "module", "nand", "negedge", "nmos", "nor", "noshowcancelled", "not",
	"notif0", "notif1", "or", "output", "parameter", "pmos", "posedge", "primitive", "pull0",
	"pull1", "pulldown", "pullup", "pulsestyle_ondetect", "pulsestyle_onevent", "rcmos", "real",
	"realtime", "reg", "release", "repeat", "rnmos", "rpmos", "rtran", "rtranif0", "rtranif1",
	"scalared", "showcancelled", "signed", "small", "specify", "specparam", "strong0", "strong1",
	"supply0", "supply1", "table", "task", "time", "tran", "tranif0", "tranif1", "tri", "tri0",
	"tri1", "triand", "trior", "trireg", "unsigned", "use", "uwire", "vectored", "wait", "wand",
	"weak0", "weak1", "while", "wire", "wor", "xnor", "xor",
}

var svWords = []string{
	"accept_on", "alias", "always_comb", "always_ff", "always_latch", "assert", "assume", "before",
	"bind", "bins", "binsof", "bit", "break", "byte", "chandle", "checker", "class", "clocking",
	"const", "constraint", "context", "continue", "cover", "covergroup", "coverpoint", "cross",
	"dist", "do", "endchecker", "endclass", "endclocking", "endgroup", "endinterface", "endpackage",
	"endprogram", "endproperty", "endsequence", "enum", "eventually", "expect", "export", "extends",
	"extern", "final", "first_match", "foreach", "forkjoin", "global", "iff", "ignore_bins",
	"illegal_bins", "implements", "implies", "import", "inside", "int", "interconnect", "interface",
	"intersect", "join_any", "join_none", "let", "local", "logic", "longint", "matches", "modport",
	"nettype", "new", "nexttime", "null", "package", "packed", "priority", "program", "property",
	"protected", "pure", "rand", "randc", "randcase", "randsequence", "ref", "reject_on", "restrict",
	"return", "s_always", "s_eventually", "s_nexttime", "s_until", "s_until_with", "sequence",
	"shortint", "shortreal", "soft", "solve", "static", "string", "strong", "struct", "super",
	"sync_accept_on", "sync_reject_on", "tagged", "this", "throughout", "timeprecision", "timeunit",
	"type", "typedef", "union", "unique", "unique0", "until", "until_with", "untyped", "var",
	"virtual", "void", "wait_order", "weak", "wildcard", "with", "within",
}

// IsKeyword reports whether word is a reserved word: of Verilog-2005, or of
// SystemVerilog-2017 when sv is set.
func IsKeyword(word string, sv bool) bool {
	if len(word) < 2 || len(word) > 19 || word[0] < 'a' || word[0] > 'z' {
		return false
	}
	f := keywords[word]
	return f == kwV || f == kwSV && sv
}

// softKeywords are Verilog-2005 configuration words that real code often
// uses as names; the parser accepts them where a name is expected.
func isSoftKeyword(w string) bool {
	switch w {
	case "cell", "design", "incdir", "include", "instance", "liblist", "library", "use", "config":
		return true
	}
	return false
}

var directives = map[string]bool{
	"define": true, "undef": true, "undefineall": true, "ifdef": true, "ifndef": true, "elsif": true,
	"else": true, "endif": true, "include": true, "timescale": true, "default_nettype": true,
	"resetall": true, "celldefine": true, "endcelldefine": true, "line": true, "pragma": true,
	"begin_keywords": true, "end_keywords": true, "unconnected_drive": true,
	"nounconnected_drive": true, "default_decay_time": true, "default_trireg_strength": true,
	"delay_mode_distributed": true, "delay_mode_path": true, "delay_mode_unit": true,
	"delay_mode_zero": true, "protect": true, "endprotect": true, "timescale_reset": true,
}

func isDirective(name string) bool { return directives[name] }
