package corpus

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
)

// GenOptions sizes a generated design. The zero value gives 500 files and
// about 200,000 lines of Verilog only.
type GenOptions struct {
	// Files is the number of files written, headers and packages
	// included (0 = 500).
	Files int
	// Lines is the approximate total number of lines (0 = 200_000).
	Lines int
	// Seed selects the design; the same options give the same files.
	Seed int64
	// VHDLShare is the fraction of files that are VHDL (0 = none). The
	// VHDL files form their own hierarchy under a VHDL top (vtop); the
	// Verilog top does not instantiate them.
	VHDLShare float64
}

// Generated design layout, relative to the directory Generate writes.
const (
	genHeader  = "include/gen_defs.svh"
	genPkg     = "pkg/gen_pkg.sv"
	genTop     = "gen_top"
	genVPkg    = "vhdl/gen_vpkg.vhd"
	genVTop    = "vtop"
	genInclude = "include"
)

// GenIncludeDir is the include directory (relative to the generated
// tree) that the generated Verilog needs (-Iinclude).
const GenIncludeDir = genInclude

// Generate writes a synthetic but realistic and valid design into dir: a
// package with typedefs, parameters and a function, a header with macros
// `include'd by every module, leaf modules with parameters, ANSI ports of
// several widths, always_ff/always_comb logic, functions and generate
// loops, and two levels of mid modules that instantiate the level below
// with named ports and parameter overrides, under one top. It returns the
// compilation units in compilation order (workspace-relative, '/'
// separated; the header in include/ is not among them, it is found through
// GenIncludeDir) and the name of the Verilog top module.
func Generate(dir string, o GenOptions) (files []string, top string, err error) {
	if o.Files == 0 {
		o.Files = 500
	}
	if o.Lines == 0 {
		o.Lines = 200_000
	}
	if o.VHDLShare < 0 || o.VHDLShare > 0.5 {
		return nil, "", fmt.Errorf("generate: VHDLShare %v outside [0, 0.5]", o.VHDLShare)
	}
	nv := 0
	if o.VHDLShare > 0 {
		nv = max(3, int(float64(o.Files)*o.VHDLShare+0.5))
	}
	rest := o.Files - 3 - nv // header, package, top
	m2 := max(1, rest/50)
	m1 := max(1, rest/10)
	nl := rest - m1 - m2
	if nl < m1 {
		return nil, "", fmt.Errorf("generate: %d files is too few (need at least %d)", o.Files, 3+nv+6)
	}
	g := &gen{r: rand.New(rand.NewPCG(uint64(o.Seed), 0x9e3779b97f4a7c15)), dir: dir}

	// Plan the leaves first: the mids need their names and parameters.
	leaves := make([]leafPlan, nl)
	for i := range leaves {
		leaves[i] = leafPlan{
			name:  fmt.Sprintf("%s_%04d", leafNames[g.r.IntN(len(leafNames))], i),
			depth: 2 + g.r.IntN(4),
			ev:    1 + g.r.IntN(12),
		}
	}
	vleaves := make([]string, max(0, nv-2))
	for i := range vleaves {
		vleaves[i] = fmt.Sprintf("v%s_%04d", leafNames[g.r.IntN(len(leafNames))], i)
	}

	// Fixed files, then mids and tops; leaves get the remaining lines.
	if err := g.write(genHeader, g.header()); err != nil {
		return nil, "", err
	}
	files = append(files, genPkg)
	if err := g.write(genPkg, g.pkg()); err != nil {
		return nil, "", err
	}
	var mids1, mids2 []string
	for k := range m1 {
		lo, hi := k*nl/m1, (k+1)*nl/m1
		name := fmt.Sprintf("%s_a%03d", midNames[g.r.IntN(len(midNames))], k)
		mids1 = append(mids1, name)
		if err := g.write("rtl/mid/"+name+".sv", g.midLeaves(name, leaves[lo:hi])); err != nil {
			return nil, "", err
		}
	}
	for k := range m2 {
		lo, hi := k*m1/m2, (k+1)*m1/m2
		name := fmt.Sprintf("%s_b%03d", midNames[g.r.IntN(len(midNames))], k)
		mids2 = append(mids2, name)
		if err := g.write("rtl/mid/"+name+".sv", g.midMids(name, mids1[lo:hi], false)); err != nil {
			return nil, "", err
		}
	}
	if err := g.write("rtl/"+genTop+".sv", g.midMids(genTop, mids2, true)); err != nil {
		return nil, "", err
	}
	if nv > 0 {
		if err := g.write(genVPkg, g.vpkg()); err != nil {
			return nil, "", err
		}
		if err := g.write("vhdl/"+genVTop+".vhd", g.vtop(vleaves)); err != nil {
			return nil, "", err
		}
	}

	budget := o.Lines - g.lines
	todo := nl + len(vleaves)
	for _, l := range leaves {
		target := g.target(budget, todo)
		b := g.leaf(l, target)
		budget -= bytes.Count(b, nl1)
		todo--
		path := "rtl/leaf/" + l.name + ".sv"
		files = append(files, path)
		if err := g.write(path, b); err != nil {
			return nil, "", err
		}
	}
	for _, m := range mids1 {
		files = append(files, "rtl/mid/"+m+".sv")
	}
	for _, m := range mids2 {
		files = append(files, "rtl/mid/"+m+".sv")
	}
	files = append(files, "rtl/"+genTop+".sv")
	if nv > 0 {
		files = append(files, genVPkg)
		for _, name := range vleaves {
			b := g.vleaf(name, g.target(budget, todo))
			budget -= bytes.Count(b, nl1)
			todo--
			path := "vhdl/" + name + ".vhd"
			files = append(files, path)
			if err := g.write(path, b); err != nil {
				return nil, "", err
			}
		}
		files = append(files, "vhdl/"+genVTop+".vhd")
	}
	return files, genTop, nil
}

var nl1 = []byte("\n")

var leafNames = []string{"mix", "crc", "fir", "pipe", "scram", "fold", "sat", "delay", "shuf", "acc"}
var midNames = []string{"cluster", "lane", "chain", "slice", "bank"}

// leafPlan is what a mid module needs to know about a leaf it instantiates.
type leafPlan struct {
	name  string
	depth int // DEPTH default
	ev    int // width of the events port
}

// gen holds the state of one Generate call.
type gen struct {
	r     *rand.Rand
	dir   string
	lines int // lines written so far
}

// target is the line count for the next leaf: an even share of what is
// left, jittered by ±25%.
func (g *gen) target(budget, todo int) int {
	if todo <= 1 {
		return budget
	}
	share := budget / todo
	return share*3/4 + g.r.IntN(share/2+1)
}

func (g *gen) write(rel string, b []byte) error {
	p := filepath.Join(g.dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return fmt.Errorf("generate: %w", err)
	}
	if err := os.WriteFile(p, b, 0o644); err != nil {
		return fmt.Errorf("generate: %w", err)
	}
	g.lines += bytes.Count(b, nl1)
	return nil
}

// w is a line-oriented buffer.
type w struct{ bytes.Buffer }

func (b *w) f(format string, args ...any) {
	fmt.Fprintf(&b.Buffer, format, args...)
	b.WriteByte('\n')
}

func (b *w) lines() int { return bytes.Count(b.Bytes(), nl1) }

func (g *gen) header() []byte {
	var b w
	b.f("// gen_defs.svh - macros shared by every generated module.")
	b.f("`ifndef GEN_DEFS_SVH")
	b.f("`define GEN_DEFS_SVH")
	b.f("")
	b.f("// Register q with asynchronous active-low reset, loading d when en is high.")
	b.f("`define GEN_REG(q, d, en) \\")
	b.f("    always_ff @(posedge clk or negedge rst_n) \\")
	b.f("        if (!rst_n) q <= '0; \\")
	b.f("        else if (en) q <= (d);")
	b.f("")
	b.f("// Constant mixed in by macro stages.")
	b.f("`define GEN_K 8'h%02x", 1+g.r.IntN(254))
	b.f("")
	b.f("// Width of the top-level data path.")
	b.f("`define GEN_W 16")
	b.f("")
	b.f("`endif")
	return b.Bytes()
}

func (g *gen) pkg() []byte {
	var b w
	b.f("// gen_pkg.sv - types, parameters and helpers of the generated design.")
	b.f("")
	b.f("// Definitions shared by all generated modules.")
	b.f("package gen_pkg;")
	b.f("")
	b.f("    // Width of a status word.")
	b.f("    parameter int STATUS_W = 8;")
	b.f("    // CRC-8 polynomial used by crc8_step.")
	b.f("    parameter logic [7:0] CRC_POLY = 8'h07;")
	b.f("")
	b.f("    // One byte.")
	b.f("    typedef logic [7:0] byte_t;")
	b.f("    // Status word of a module.")
	b.f("    typedef logic [STATUS_W-1:0] status_t;")
	b.f("")
	b.f("    // What the mode-dependent stages do.")
	b.f("    typedef enum logic [1:0] {")
	b.f("        MODE_PASS = 2'd0,  // pass data through")
	b.f("        MODE_ADD  = 2'd1,  // add a constant")
	b.f("        MODE_XOR  = 2'd2,  // xor with the seed")
	b.f("        MODE_INV  = 2'd3   // invert")
	b.f("    } mode_e;")
	b.f("")
	b.f("    // Run-time configuration distributed to every module.")
	b.f("    typedef struct packed {")
	b.f("        mode_e      mode;  // stage behaviour")
	b.f("        logic       en;    // global enable")
	b.f("        logic [3:0] shift; // rotate amount")
	b.f("        byte_t      gain;  // scale factor")
	b.f("    } cfg_t;")
	b.f("")
	b.f("    // One step of a bitwise CRC-8 over a data byte.")
	b.f("    function automatic byte_t crc8_step(input byte_t crc, input byte_t data);")
	b.f("        byte_t c;")
	b.f("        c = crc ^ data;")
	b.f("        for (int i = 0; i < 8; i++) begin")
	b.f("            c = c[7] ? ((c << 1) ^ CRC_POLY) : (c << 1);")
	b.f("        end")
	b.f("        return c;")
	b.f("    endfunction")
	b.f("")
	b.f("endpackage : gen_pkg")
	return b.Bytes()
}

// portsHeader writes the common port list of leaves and mids.
func portsHeader(b *w, leaf bool, ev int) {
	b.f(") (")
	b.f("    // Clock.")
	b.f("    input  logic         clk,")
	b.f("    // Asynchronous active-low reset.")
	b.f("    input  logic         rst_n,")
	b.f("    // Input data is valid.")
	b.f("    input  logic         in_valid,")
	b.f("    // Input data.")
	b.f("    input  logic [W-1:0] in_data,")
	if leaf {
		b.f("    // Side input folded into the status.")
		b.f("    input  logic [AUX_W-1:0] aux,")
	}
	b.f("    // Run-time configuration.")
	b.f("    input  cfg_t         cfg,")
	b.f("    // Output data is valid.")
	b.f("    output logic         out_valid,")
	b.f("    // Output data.")
	b.f("    output logic [W-1:0] out_data,")
	if leaf {
		b.f("    // Low bits of the output, for event counters.")
		b.f("    output logic [%d:0] events,", ev-1)
	}
	b.f("    // Status word.")
	b.f("    output status_t      status")
	b.f(");")
	b.f("")
}

var stageWhat = []string{"smooths", "scrambles", "conditions", "mixes", "whitens", "folds"}

// leaf writes one leaf module of about target lines.
func (g *gen) leaf(l leafPlan, target int) []byte {
	var b w
	seed := g.r.Uint32()
	b.f("// %s.sv - generated leaf stage that %s its input.", l.name, stageWhat[g.r.IntN(len(stageWhat))])
	b.f("`include \"gen_defs.svh\"")
	b.f("")
	b.f("// %s: a pipeline of register, combinational and generate stages.", l.name)
	b.f("module %s", l.name)
	b.f("    import gen_pkg::*;")
	b.f("#(")
	b.f("    // Data width (at least 12).")
	b.f("    parameter int W = 16,")
	b.f("    // Constant mixed into the data.")
	b.f("    parameter logic [31:0] SEED = 32'h%08x,", seed)
	b.f("    // Depth of the delay line.")
	b.f("    parameter int DEPTH = %d,", l.depth)
	b.f("    // Width of the aux input.")
	b.f("    parameter int AUX_W = %d", 1+g.r.IntN(8))
	portsHeader(&b, true, l.ev)

	const trailer = 12
	cur, curv := "in_data", "in_valid"
	j := 0
	stages := 0
	delay := false
	for j == 0 || !delay || b.lines()+trailer+8 < target {
		j++
		kind := g.r.IntN(8)
		switch {
		case j == 1:
			kind = 0
		case !delay && (b.lines()+trailer+30 >= target || j == 3):
			kind = 5
		}
		k := 1 + g.r.IntN(11)
		switch kind {
		case 0, 1: // register stage
			exprs := []string{
				fmt.Sprintf("%s ^ W'(SEED >> %d)", cur, g.r.IntN(8)),
				fmt.Sprintf("%s + W'(%d)", cur, k),
				fmt.Sprintf("{%s[W-2:0], %s[W-1]}", cur, cur),
			}
			e := exprs[g.r.IntN(len(exprs))]
			if j == 1 {
				e = exprs[0]
			}
			b.f("    // Stage %d: register that %s the data.", j, stageWhat[g.r.IntN(len(stageWhat))])
			b.f("    logic [W-1:0] r%d_q;", j)
			b.f("    // Stage %d output is valid.", j)
			b.f("    logic         r%d_v;", j)
			b.f("    always_ff @(posedge clk or negedge rst_n) begin")
			b.f("        if (!rst_n) begin")
			b.f("            r%d_q <= '0;", j)
			b.f("            r%d_v <= 1'b0;", j)
			b.f("        end else begin")
			b.f("            r%d_v <= %s;", j, curv)
			b.f("            if (%s) r%d_q <= %s;", curv, j, e)
			b.f("        end")
			b.f("    end")
			cur, curv = fmt.Sprintf("r%d_q", j), fmt.Sprintf("r%d_v", j)
			stages++
		case 2: // mode-dependent combinational stage
			b.f("    // Stage %d: combinational step chosen by cfg.mode.", j)
			b.f("    logic [W-1:0] c%d;", j)
			b.f("    always_comb begin")
			b.f("        unique case (cfg.mode)")
			b.f("            MODE_PASS: c%d = %s;", j, cur)
			b.f("            MODE_ADD:  c%d = %s + W'(%d);", j, cur, k)
			b.f("            MODE_XOR:  c%d = %s ^ W'(SEED);", j, cur)
			b.f("            default:   c%d = ~%s;", j, cur)
			b.f("        endcase")
			b.f("    end")
			cur = fmt.Sprintf("c%d", j)
		case 3: // generate loop
			b.f("    // Stage %d: every bit folded with the bit %d places up.", j, k)
			b.f("    logic [W-1:0] g%d;", j)
			b.f("    for (genvar i = 0; i < W; i++) begin : g_fold%d", j)
			b.f("        assign g%d[i] = %s[i] ^ %s[(i + %d) %% W];", j, cur, cur, k)
			b.f("    end")
			cur = fmt.Sprintf("g%d", j)
		case 4: // local function
			b.f("    // Saturating add used by stage %d.", j)
			b.f("    function automatic logic [W-1:0] sat_add%d(input logic [W-1:0] x, input logic [W-1:0] y);", j)
			b.f("        logic [W:0] s;")
			b.f("        s = {1'b0, x} + {1'b0, y};")
			b.f("        return s[W] ? '1 : s[W-1:0];")
			b.f("    endfunction")
			b.f("")
			b.f("    // Stage %d: saturating add of %d.", j, k)
			b.f("    logic [W-1:0] f%d;", j)
			b.f("    assign f%d = sat_add%d(%s, W'(%d));", j, j, cur, k)
			cur = fmt.Sprintf("f%d", j)
		case 5: // delay line
			if delay {
				j--
				continue
			}
			delay = true
			b.f("    // Stage %d: DEPTH-deep delay line.", j)
			b.f("    logic [W-1:0]     d%d_q [DEPTH];", j)
			b.f("    // Valid bits travelling with the delay line.")
			b.f("    logic [DEPTH-1:0] d%d_v;", j)
			b.f("    always_ff @(posedge clk or negedge rst_n) begin")
			b.f("        if (!rst_n) begin")
			b.f("            for (int i = 0; i < DEPTH; i++) d%d_q[i] <= '0;", j)
			b.f("            d%d_v <= '0;", j)
			b.f("        end else begin")
			b.f("            d%d_q[0] <= %s;", j, cur)
			b.f("            for (int i = 1; i < DEPTH; i++) d%d_q[i] <= d%d_q[i-1];", j, j)
			b.f("            d%d_v <= {d%d_v[DEPTH-2:0], %s};", j, j, curv)
			b.f("        end")
			b.f("    end")
			cur, curv = fmt.Sprintf("d%d_q[DEPTH-1]", j), fmt.Sprintf("d%d_v[DEPTH-1]", j)
			stages++
		case 6: // macro register
			b.f("    // Stage %d: register from the GEN_REG macro.", j)
			b.f("    logic [W-1:0] m%d_q;", j)
			b.f("    // Stage %d output is valid.", j)
			b.f("    logic         m%d_v;", j)
			b.f("    `GEN_REG(m%d_q, %s - W'(`GEN_K), %s)", j, cur, curv)
			b.f("    `GEN_REG(m%d_v, %s, 1'b1)", j, curv)
			cur, curv = fmt.Sprintf("m%d_q", j), fmt.Sprintf("m%d_v", j)
			stages++
		default: // package function
			b.f("    // Stage %d: CRC-8 step over the low byte.", j)
			b.f("    logic [W-1:0] p%d;", j)
			b.f("    assign p%d = {%s[W-1:8], crc8_step(%s[7:0], 8'h%02x)};", j, cur, cur, g.r.IntN(256))
			cur = fmt.Sprintf("p%d", j)
		}
		b.f("")
	}
	b.f("    // Register stages in this module.")
	b.f("    localparam int STAGES = %d;", stages)
	b.f("")
	b.f("    assign out_data  = %s;", cur)
	b.f("    assign out_valid = %s;", curv)
	b.f("    assign events    = %s[%d:0];", cur, l.ev-1)
	b.f("    assign status    = {^aux, ^cfg, 6'(STAGES)};")
	b.f("")
	b.f("endmodule : %s", l.name)
	return b.Bytes()
}

// chainHead writes a chaining mid module's header up to its first child:
// the module (doc: what it does) with its width parameter W (wDoc, default
// width) and ports, and the chain input d0/v0.
func chainHead(b *w, name, doc, wDoc, width string) {
	b.f("`include \"gen_defs.svh\"")
	b.f("")
	b.f("// %s: %s", name, doc)
	b.f("module %s", name)
	b.f("    import gen_pkg::*;")
	b.f("#(")
	b.f("    // %s", wDoc)
	b.f("    parameter int W = %s", width)
	portsHeader(b, false, 0)
	b.f("    // Chain input.")
	b.f("    logic [W-1:0] d0;")
	b.f("    // Chain input is valid.")
	b.f("    logic         v0;")
	b.f("    assign d0 = in_data;")
	b.f("    assign v0 = in_valid;")
	b.f("")
}

// midLeaves writes a level-1 mid module chaining leaves.
func (g *gen) midLeaves(name string, leaves []leafPlan) []byte {
	var b w
	b.f("// %s.sv - generated cluster of %d leaf stages.", name, len(leaves))
	chainHead(&b, name, "chains its leaves; the data width is set by the parent.", "Data width of the chain.", "16")
	for i, l := range leaves {
		k := i + 1
		aux := 1 + g.r.IntN(8)
		b.f("    // Output of child %d (%s).", k, l.name)
		b.f("    logic [W-1:0] d%d;", k)
		b.f("    // Child %d output is valid.", k)
		b.f("    logic         v%d;", k)
		b.f("    // Status of child %d.", k)
		b.f("    status_t      s%d;", k)
		b.f("    // Events of child %d.", k)
		b.f("    logic [%d:0]  e%d;", l.ev-1, k)
		b.f("")
		b.f("    %s #(", l.name)
		b.f("        .W    (W),")
		b.f("        .SEED (32'h%08x),", g.r.Uint32())
		b.f("        .DEPTH(%d),", 2+g.r.IntN(6))
		b.f("        .AUX_W(%d)", aux)
		b.f("    ) u_%s (", l.name)
		b.f("        .clk      (clk),")
		b.f("        .rst_n    (rst_n),")
		b.f("        .in_valid (v%d),", k-1)
		b.f("        .in_data  (d%d),", k-1)
		b.f("        .aux      (d%d[%d:0]),", k-1, aux-1)
		b.f("        .cfg      (cfg),")
		b.f("        .out_valid(v%d),", k)
		b.f("        .out_data (d%d),", k)
		b.f("        .events   (e%d),", k)
		b.f("        .status   (s%d)", k)
		b.f("    );")
		b.f("")
	}
	n := len(leaves)
	b.f("    assign out_data  = d%d;", n)
	b.f("    assign out_valid = v%d;", n)
	var st, ev bytes.Buffer
	for k := 1; k <= n; k++ {
		if k > 1 {
			st.WriteString(" ^ ")
			ev.WriteString(", ")
		}
		fmt.Fprintf(&st, "s%d", k)
		fmt.Fprintf(&ev, "e%d", k)
	}
	b.f("    assign status    = %s ^ status_t'(^{%s});", st.String(), ev.String())
	b.f("")
	b.f("endmodule : %s", name)
	return b.Bytes()
}

var midWidths = []int{12, 16, 20, 24, 32}

// midMids writes a level-2 mid (or the top) chaining mids of various widths.
func (g *gen) midMids(name string, kids []string, top bool) []byte {
	var b w
	if top {
		b.f("// %s.sv - top of the generated design.", name)
	} else {
		b.f("// %s.sv - generated group of %d clusters.", name, len(kids))
	}
	width := "16"
	if top {
		width = "`GEN_W"
	}
	chainHead(&b, name, "chains its children, each at its own data width.", "Data width at the ports.", width)
	for i, kid := range kids {
		k := i + 1
		b.f("    // Data width of child %d (%s).", k, kid)
		b.f("    localparam int W%d = %d;", k, midWidths[g.r.IntN(len(midWidths))])
		b.f("    // Input of child %d, resized from the previous child.", k)
		b.f("    logic [W%d-1:0] i%d;", k, k)
		b.f("    // Output of child %d.", k)
		b.f("    logic [W%d-1:0] d%d;", k, k)
		b.f("    // Child %d output is valid.", k)
		b.f("    logic          v%d;", k)
		b.f("    // Status of child %d.", k)
		b.f("    status_t       s%d;", k)
		b.f("    assign i%d = W%d'(d%d);", k, k, k-1)
		b.f("")
		b.f("    %s #(", kid)
		b.f("        .W(W%d)", k)
		b.f("    ) u_%s (", kid)
		b.f("        .clk      (clk),")
		b.f("        .rst_n    (rst_n),")
		b.f("        .in_valid (v%d),", k-1)
		b.f("        .in_data  (i%d),", k)
		b.f("        .cfg      (cfg),")
		b.f("        .out_valid(v%d),", k)
		b.f("        .out_data (d%d),", k)
		b.f("        .status   (s%d)", k)
		b.f("    );")
		b.f("")
	}
	n := len(kids)
	b.f("    assign out_data  = W'(d%d);", n)
	b.f("    assign out_valid = v%d;", n)
	// The parity of every link covers the bits a narrower child drops.
	var st, par bytes.Buffer
	par.WriteString("d0")
	for k := 1; k <= n; k++ {
		if k > 1 {
			st.WriteString(" ^ ")
		}
		fmt.Fprintf(&st, "s%d", k)
		fmt.Fprintf(&par, ", d%d", k)
	}
	b.f("    assign status    = %s ^ status_t'(^{%s});", st.String(), par.String())
	b.f("")
	b.f("endmodule : %s", name)
	return b.Bytes()
}
