package vhdl

import (
	"strings"
	"testing"

	"gatewave.dev/sessiond/hdl/design"
)

func diagsString(src string, f *design.File) string {
	var out []string
	for _, d := range f.Diags {
		if d.Code != "syntax" || d.Severity != design.Error {
			out = append(out, "bad code/severity")
		}
		out = append(out, d.Message+" @"+itoa(d.Span.Start)+"="+at(src, d.Span))
	}
	return strings.Join(out, "\n")
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	s := ""
	for n > 0 {
		s = string(rune('0'+n%10)) + s
		n /= 10
	}
	return s
}

func TestHalfTypedFile(t *testing.T) {
	src := `library ieee;
use ieee.std_logic_1164.all;
entity foo is
  port (
    clk : in std_logic;
    data : out std_logic_vector(7 downto 0)
architecture rtl of foo is
  signal s : std_logic;
begin
  u1: bar port map (clk => clk,
`
	f := parseString(t, src)
	e := unit(t, f, design.UnitEntity, "foo")
	if len(e.Ports) != 2 || e.Ports[1].Name != "data" || len(e.Ports[1].Type.Packed) != 1 || !e.Ports[1].Type.Packed[0].Downto {
		t.Fatalf("ports %+v", e.Ports)
	}
	if got := at(src, e.PortList); !strings.HasPrefix(got, "(") || !strings.HasSuffix(got, "(7 downto 0)") {
		t.Errorf("unterminated port list span %q", got)
	}
	a := unit(t, f, design.UnitArchitecture, "rtl")
	if a.Full.End != len(src) {
		t.Errorf("unterminated architecture ends at %d, want EOF %d", a.Full.End, len(src))
	}
	if findDecl(a.Body, "s") == nil {
		t.Errorf("signal s lost")
	}
	if len(a.Body.Instances) != 1 {
		t.Fatalf("instances %d", len(a.Body.Instances))
	}
	in := a.Body.Instances[0]
	if in.Module != "bar" || in.Name != "u1" || len(in.Ports) != 1 || in.Ports[0].Name != "clk" || in.PortList.End != len(src) {
		t.Errorf("instance %+v", in)
	}
	want := "expected ')' to close port list, found 'architecture' @" + itoa(strings.Index(src, "(7 downto 0)")+12) + "="
	if d := diagsString(src, f); !strings.HasPrefix(d, want) {
		t.Errorf("diags:\n%s\nwant first:\n%s", d, want)
	}
	if !strings.Contains(diagsString(src, f), "expected ')' to close port map, found end of file") {
		t.Errorf("no diag for the unterminated port map:\n%s", diagsString(src, f))
	}
}

func TestRecovery(t *testing.T) {
	cases := []struct {
		name, src string
		diags     string // each "message @offset=text", joined by newlines; offsets found by marker
		check     func(t *testing.T, src string, f *design.File)
	}{
		{
			name:  "missing semicolon between ports",
			src:   "entity e is port (a : in bit\n b : out bit); end;",
			diags: "expected ';' after port declaration, found 'b' @28=",
			check: func(t *testing.T, src string, f *design.File) {
				if u := unit(t, f, design.UnitEntity, "e"); len(u.Ports) != 2 || u.Ports[1].Dir != design.DirOutput {
					t.Errorf("ports %+v", u.Ports)
				}
			},
		},
		{
			name:  "semicolon before close paren",
			src:   "entity e is port (a : in bit;); end;",
			diags: "unexpected ';' before ')' in port list @28=;",
		},
		{
			name:  "missing semicolon after signal",
			src:   "architecture a of e is\n  signal s : bit\n  signal t : bit;\nbegin\nend;",
			diags: "expected ';' after signal declaration, found 'signal' @39=",
			check: func(t *testing.T, src string, f *design.File) {
				u := f.Units[0]
				if findDecl(u.Body, "s") == nil || findDecl(u.Body, "t") == nil {
					t.Errorf("decls %+v", u.Body.Decls)
				}
			},
		},
		{
			name:  "missing end process",
			src:   "architecture a of e is begin\np1: process begin x <= '1';\np2: process (c) begin y <= c; end process;\nend;",
			diags: "expected 'end process', found 'p2' @56=",
			check: func(t *testing.T, src string, f *design.File) {
				if n := len(f.Units[0].Body.Scopes); n != 2 {
					t.Errorf("processes %d", n)
				}
			},
		},
		{
			name:  "garbage before entity",
			src:   "foo bar;\nentity e is end;",
			diags: "expected a design unit (entity, architecture, package, configuration), found 'foo' @0=foo",
			check: func(t *testing.T, src string, f *design.File) { unit(t, f, design.UnitEntity, "e") },
		},
		{
			name:  "missing begin",
			src:   "architecture a of e is\n  signal s : bit;\n  s <= '1';\nend;",
			diags: "expected 'begin' before statements, found 's' @40=",
			check: func(t *testing.T, src string, f *design.File) {
				if len(f.Units[0].Body.Assigns) != 1 {
					t.Errorf("assign lost")
				}
			},
		},
		{
			name:  "bad expression",
			src:   "architecture a of e is begin y <= a + ; z <= b; end;",
			diags: "expected expression, found ';' @38=;",
			check: func(t *testing.T, src string, f *design.File) {
				if len(f.Units[0].Body.Assigns) != 2 {
					t.Errorf("assigns %d", len(f.Units[0].Body.Assigns))
				}
			},
		},
		{
			name:  "end name mismatch",
			src:   "entity e is end entity f;",
			diags: "'f' does not match the name 'e' @23=f",
		},
		{
			name:  "missing end if",
			src:   "architecture a of e is begin process begin if c then x <= '1'; end process; end;",
			diags: "expected 'end if', found 'end' @63=end",
		},
		{
			name:  "half-typed dot",
			src:   "architecture a of e is begin y <= rec.",
			diags: "expected name after '.', found end of file @38=", // later errors at the same place are dropped
			check: func(t *testing.T, src string, f *design.File) {
				if len(f.Units) != 1 || f.Units[0].Full.End != len(src) {
					t.Errorf("units %+v", f.Units)
				}
			},
		},
		{
			name:  "instance without label",
			src:   "architecture a of e is begin sub port map (x => y); end;",
			diags: "instance of 'sub' needs a label @29=sub",
			check: func(t *testing.T, src string, f *design.File) {
				if len(f.Units[0].Body.Instances) != 1 {
					t.Errorf("instance lost")
				}
			},
		},
		{
			name:  "unterminated generic map",
			src:   "architecture a of e is begin u: sub generic map (N => 1 port map (x => y); end;",
			diags: "expected ',' or ')'",
		},
		{
			name:  "unterminated string",
			src:   "architecture a of e is begin y <= \"abc\nz <= b; end;",
			diags: "expected expression, found '\"abc' @34=\"abc",
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := parseString(t, c.src)
			got := diagsString(c.src, f)
			if c.diags == "expected ',' or ')'" {
				if len(f.Diags) == 0 {
					t.Errorf("no diag")
				}
			} else if got != c.diags {
				t.Errorf("diags:\n%s\nwant:\n%s", got, c.diags)
			}
			if c.check != nil {
				c.check(t, c.src, f)
			}
		})
	}
}

func TestDeepNesting(t *testing.T) {
	for _, src := range []string{
		"architecture a of e is begin y <= " + strings.Repeat("(", 100000) + "x;",
		"architecture a of e is begin y <= " + strings.Repeat("not ", 100000) + "x;",
		"architecture a of e is begin process begin " + strings.Repeat("if c then ", 50000),
		"architecture a of e is begin " + strings.Repeat("g: for i in 0 to 1 generate ", 50000),
		"package p is " + strings.Repeat("function f return t is begin ", 50000),
	} {
		f := Parse("x.vhd", []byte(src))
		if len(f.Diags) == 0 {
			t.Errorf("no diag for deep nesting")
		}
		if len(f.Diags) > maxDiags {
			t.Errorf("%d diags", len(f.Diags))
		}
	}
}
