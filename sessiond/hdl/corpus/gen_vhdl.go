package corpus

import (
	"fmt"
	"strings"
)

// vpkg writes the VHDL package of the generated design.
func (g *gen) vpkg() []byte {
	var b w
	b.f("-- gen_vpkg.vhd - constants and helpers of the generated VHDL.")
	b.f("library ieee;")
	b.f("use ieee.std_logic_1164.all;")
	b.f("use ieee.numeric_std.all;")
	b.f("")
	b.f("-- Definitions shared by all generated VHDL entities.")
	b.f("package gen_vpkg is")
	b.f("")
	b.f("    -- Width of the top-level data path.")
	b.f("    constant TOP_W : positive := 16;")
	b.f("    -- Width of a status word.")
	b.f("    constant STATUS_W : positive := 8;")
	b.f("")
	b.f("    -- Status word of an entity.")
	b.f("    subtype status_t is std_logic_vector(STATUS_W - 1 downto 0);")
	b.f("    -- What the mode-dependent stages do.")
	b.f("    type mode_t is (MODE_PASS, MODE_ADD, MODE_XOR, MODE_INV);")
	b.f("")
	b.f("    -- Rotates x left by k and xors in k.")
	b.f("    function mix(x : unsigned; k : natural) return unsigned;")
	b.f("")
	b.f("end package gen_vpkg;")
	b.f("")
	b.f("package body gen_vpkg is")
	b.f("")
	b.f("    function mix(x : unsigned; k : natural) return unsigned is")
	b.f("    begin")
	b.f("        return rotate_left(x, k mod x'length) xor to_unsigned(k mod 256, x'length);")
	b.f("    end function mix;")
	b.f("")
	b.f("end package body gen_vpkg;")
	return b.Bytes()
}

// vContext writes the context clause every generated VHDL unit starts with.
func vContext(b *w) {
	b.f("library ieee;")
	b.f("use ieee.std_logic_1164.all;")
	b.f("use ieee.numeric_std.all;")
	b.f("")
	b.f("library work;")
	b.f("use work.gen_vpkg.all;")
	b.f("")
}

// vPorts writes the port clause of a generated VHDL entity: data of width
// (an expression), and a status port described by statusDoc.
func vPorts(b *w, width, statusDoc string) {
	b.f("    port (")
	b.f("        -- Clock.")
	b.f("        clk       : in  std_logic;")
	b.f("        -- Asynchronous active-low reset.")
	b.f("        rst_n     : in  std_logic;")
	b.f("        -- Mode of the combinational stages.")
	b.f("        mode      : in  mode_t;")
	b.f("        -- Input data is valid.")
	b.f("        in_valid  : in  std_logic;")
	b.f("        -- Input data.")
	b.f("        in_data   : in  std_logic_vector(%s - 1 downto 0);", width)
	b.f("        -- Output data is valid.")
	b.f("        out_valid : out std_logic;")
	b.f("        -- Output data.")
	b.f("        out_data  : out std_logic_vector(%s - 1 downto 0);", width)
	b.f("        -- %s", statusDoc)
	b.f("        status    : out status_t")
	b.f("    );")
}

// vleaf writes one VHDL leaf entity of about target lines.
func (g *gen) vleaf(name string, target int) []byte {
	var head, decl, body w
	head.f("-- %s.vhd - generated VHDL leaf stage that %s its input.", name, stageWhat[g.r.IntN(len(stageWhat))])
	vContext(&head)
	head.f("-- %s: a pipeline of register, combinational and generate stages.", name)
	head.f("entity %s is", name)
	head.f("    generic (")
	head.f("        -- Data width (at least 12).")
	head.f("        W    : positive := 16;")
	head.f("        -- Constant mixed into the data (below 256).")
	head.f("        SEED : natural  := %d", g.r.IntN(256))
	head.f("    );")
	vPorts(&head, "W", "Status word.")
	head.f("end entity %s;", name)
	head.f("")
	head.f("-- Generated RTL.")
	head.f("architecture rtl of %s is", name)
	decl.f("    -- Input as a number.")
	decl.f("    signal s0 : unsigned(W - 1 downto 0);")

	cur, curv := "s0", "in_valid"
	stages := 0
	for j := 1; j == 1 || head.lines()+decl.lines()+body.lines()+10 < target; j++ {
		kind := g.r.IntN(4)
		if j == 1 {
			kind = 0
		}
		k := 1 + g.r.IntN(11)
		switch kind {
		case 0: // register stage
			decl.f("    -- Stage %d: register that %s the data.", j, stageWhat[g.r.IntN(len(stageWhat))])
			decl.f("    signal r%d : unsigned(W - 1 downto 0);", j)
			decl.f("    -- Stage %d output is valid.", j)
			decl.f("    signal r%d_v : std_logic;", j)
			body.f("    p_r%d : process (clk, rst_n)", j)
			body.f("    begin")
			body.f("        if rst_n = '0' then")
			body.f("            r%d <= (others => '0');", j)
			body.f("            r%d_v <= '0';", j)
			body.f("        elsif rising_edge(clk) then")
			body.f("            r%d_v <= %s;", j, curv)
			body.f("            if %s = '1' then", curv)
			body.f("                r%d <= %s + to_unsigned(SEED + %d, W);", j, cur, k)
			body.f("            end if;")
			body.f("        end if;")
			body.f("    end process p_r%d;", j)
			cur, curv = fmt.Sprintf("r%d", j), fmt.Sprintf("r%d_v", j)
			stages++
		case 1: // mode-dependent combinational stage
			decl.f("    -- Stage %d: combinational step chosen by mode.", j)
			decl.f("    signal c%d : unsigned(W - 1 downto 0);", j)
			body.f("    with mode select c%d <=", j)
			body.f("        %s when MODE_PASS,", cur)
			body.f("        %s + %d when MODE_ADD,", cur, k)
			body.f("        %s xor to_unsigned(SEED, W) when MODE_XOR,", cur)
			body.f("        not %s when MODE_INV;", cur)
			cur = fmt.Sprintf("c%d", j)
		case 2: // generate loop
			decl.f("    -- Stage %d: every bit folded with the bit %d places up.", j, k)
			decl.f("    signal g%d : unsigned(W - 1 downto 0);", j)
			body.f("    g_fold%d : for i in 0 to W - 1 generate", j)
			body.f("        g%d(i) <= %s(i) xor %s((i + %d) mod W);", j, cur, cur, k)
			body.f("    end generate g_fold%d;", j)
			cur = fmt.Sprintf("g%d", j)
		default: // package function
			decl.f("    -- Stage %d: rotate-and-xor from gen_vpkg.", j)
			decl.f("    signal f%d : unsigned(W - 1 downto 0);", j)
			body.f("    f%d <= mix(%s, %d);", j, cur, k)
			cur = fmt.Sprintf("f%d", j)
		}
		body.f("")
	}
	var b w
	b.Write(head.Bytes())
	b.Write(decl.Bytes())
	b.f("begin")
	b.f("")
	b.f("    s0 <= unsigned(in_data);")
	b.f("")
	b.Write(body.Bytes())
	b.f("    out_data  <= std_logic_vector(%s);", cur)
	b.f("    out_valid <= %s;", curv)
	b.f("    status    <= std_logic_vector(to_unsigned(%d, STATUS_W));", stages%256)
	b.f("")
	b.f("end architecture rtl;")
	return b.Bytes()
}

// vtop writes the VHDL top chaining the VHDL leaves at various widths.
func (g *gen) vtop(leaves []string) []byte {
	var decl, body w
	for i, l := range leaves {
		k := i + 1
		wk := midWidths[g.r.IntN(len(midWidths))]
		decl.f("    -- Input of child %d (%s), resized from the previous child.", k, l)
		decl.f("    signal i%d : std_logic_vector(%d downto 0);", k, wk-1)
		decl.f("    -- Output of child %d.", k)
		decl.f("    signal d%d : std_logic_vector(%d downto 0);", k, wk-1)
		decl.f("    -- Child %d output is valid.", k)
		decl.f("    signal v%d : std_logic;", k)
		decl.f("    -- Status of child %d.", k)
		decl.f("    signal s%d : status_t;", k)
		body.f("    i%d <= std_logic_vector(resize(unsigned(d%d), %d));", k, k-1, wk)
		body.f("")
		body.f("    u_%s : entity work.%s", l, l)
		body.f("        generic map (")
		body.f("            W    => %d,", wk)
		body.f("            SEED => %d", g.r.IntN(256))
		body.f("        )")
		body.f("        port map (")
		body.f("            clk       => clk,")
		body.f("            rst_n     => rst_n,")
		body.f("            mode      => mode,")
		body.f("            in_valid  => v%d,", k-1)
		body.f("            in_data   => i%d,", k)
		body.f("            out_valid => v%d,", k)
		body.f("            out_data  => d%d,", k)
		body.f("            status    => s%d", k)
		body.f("        );")
		body.f("")
	}
	var b w
	b.f("-- %s.vhd - top of the generated VHDL.", genVTop)
	vContext(&b)
	b.f("-- %s: chains the VHDL leaves, each at its own width.", genVTop)
	b.f("entity %s is", genVTop)
	vPorts(&b, "TOP_W", "Status of all children, xored.")
	b.f("end entity %s;", genVTop)
	b.f("")
	b.f("-- Structural architecture.")
	b.f("architecture rtl of %s is", genVTop)
	b.f("    -- Chain input.")
	b.f("    signal d0 : std_logic_vector(TOP_W - 1 downto 0);")
	b.f("    -- Chain input is valid.")
	b.f("    signal v0 : std_logic;")
	b.Write(decl.Bytes())
	b.f("begin")
	b.f("")
	b.f("    d0 <= in_data;")
	b.f("    v0 <= in_valid;")
	b.f("")
	b.Write(body.Bytes())
	n := len(leaves)
	b.f("    out_data  <= std_logic_vector(resize(unsigned(d%d), TOP_W));", n)
	b.f("    out_valid <= v%d;", n)
	st := make([]string, n)
	for k := range st {
		st[k] = fmt.Sprintf("s%d", k+1)
	}
	b.f("    status    <= %s;", strings.Join(st, " xor "))
	b.f("")
	b.f("end architecture rtl;")
	return b.Bytes()
}
