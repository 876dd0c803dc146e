library ieee;
use ieee.std_logic_1164.all;
use ieee.numeric_std.all;
use std.textio.all;

package gen_pkg is
  generic (N : natural := 2);
  constant SIZE : natural := N * 2;
  type slv_array_t is array (natural range <>) of std_logic_vector;
  type rec_t is record
    data : std_logic_vector;
    tag  : natural;
  end record;
end package gen_pkg;

package gen_pkg3 is new work.gen_pkg generic map (N => 3);

library ieee;
use ieee.std_logic_1164.all;
use ieee.numeric_std.all;
use std.textio.all;
use work.gen_pkg3.all;

entity tricky is
  port (
    clk : in std_logic;
    en  : in std_logic;
    d   : in std_logic_vector(7 downto 0);
    q   : out std_logic_vector(7 downto 0)
  );
end entity tricky;

architecture rtl of tricky is
  signal a2 : slv_array_t(0 to 3)(7 downto 0);
  signal r : rec_t(data(3 downto 0));
  signal s1, s2 : std_logic;
  signal g : std_logic;
  signal n : integer range -8 to 7;
  type small_t is range 0 to 7;
  signal sm : small_t;
  attribute mark : string;
  attribute mark of s1 : signal is "x";
  type acc_pt is protected
    procedure add(v : integer);
  end protected;
  type acc_pt is protected body
    variable total : integer := 0;
    procedure add(v : integer) is
    begin
      total := total + v;
    end procedure;
  end protected body;
  shared variable sv : acc_pt;
  alias d_hi is d(7 downto 4);
  procedure check(signal x : in std_logic) is
  begin
    assert x /= 'X' report "X on " & x'path_name severity warning;
  end procedure;
begin
  (s1, s2) <= std_logic_vector'("01");
  check(s1);
  postponed assert not (s1 = '1' and s2 = '1') report "both" severity note;

  with en select g <= d(0) when '1', '0' when others;

  gb : block (en = '1')
  begin
    q(0) <= guarded d(0);
  end block gb;

  q(7 downto 1) <= d(7 downto 1) after 1 ns, d(6 downto 0) after 2 ns when en else (others => '0');

  main : process is
    variable i : natural := 0;
    variable l : line;
    file f : text open write_mode is "out.txt";
  begin
    wait on clk, en until clk = '1' for 10 ns;
    outer : for k in 0 to 3 loop
      inner : while i < 10 loop
        i := i + 1;
        next inner when i = 2;
        exit outer when i = 8;
      end loop inner;
    end loop outer;
    case n is
      when -8 to -1 => sm <= 0;
      when 0 | 1 => sm <= small_t'val(1);
      when others => null;
    end case;
    a2(0) <= d;
    a2(1) <= x"AB";
    r.data <= d_hi;
    r.tag <= small_t'pos(sm);
    s2 <= transport s1 after 1 ns;
    s2 <= reject 500 ps inertial s1 after 1 ns;
    n <= to_integer(signed(d(3 downto 0))) when ?? en else 0;
    i := 1 when s1 = '1' else 2;
    write(l, integer'image(i) & " " & time'image(now));
    writeline(f, l);
    if (xor d) = '1' and s1'stable(1 ns) and s1'last_value = '0' then
      report "odd";
    elsif s1'event then
      sv.add(3);
    end if;
    wait for 0.5 ns;
    std.env.stop;
    wait;
  end process main;
end architecture rtl;
