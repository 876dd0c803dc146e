-- entity with generics and ports, a package and its body
library ieee;
  use ieee.std_logic_1164.all;

entity fifo is
generic (
DEPTH : positive := 16;
WIDTH: positive := 8
);
port (
clk, rst : in std_logic;
wr_en : in std_logic;
din : in std_logic_vector(WIDTH - 1 downto 0);
dout : out std_logic_vector(WIDTH - 1 downto 0);
full, empty : buffer std_logic
);
end entity fifo;

package fifo_pkg is
constant MAX_DEPTH : natural := 1024;
type mem_t is array (natural range <>) of std_logic_vector(7 downto 0);
type pair_t is record
lo : natural;
high_part: std_logic_vector(7 downto 0);
end record pair_t;
function log2(n : natural) return natural;
component fifo is
generic (DEPTH : positive := 16);
port (
clk : in std_logic;
dout : out std_logic_vector(7 downto 0)
);
end component;
end package fifo_pkg;

package body fifo_pkg is
function log2(n : natural) return natural is
variable r : natural := 0;
variable v : natural := n;
begin
while v > 1 loop
v := v / 2;
r := r + 1;
end loop;
return r;
end function log2;
end package body fifo_pkg;
