library ieee;
use ieee.std_logic_1164.all;
use ieee.numeric_std.all;

package literals_pkg is
  type distance_t is range 0 to 1000000
    units
      um;
      mm = 1000 um;
      m  = 1000 mm;
    end units;
  constant HEX_C   : std_logic_vector(7 downto 0) := x"AB";
  constant BIN_C   : std_logic_vector(3 downto 0) := b"0101";
  constant SIZED_C : std_logic_vector(11 downto 0) := 12ux"F0F";
  constant OCT_C   : std_logic_vector(5 downto 0) := o"77";
  constant BASED_C : integer := 16#FF#;
  constant BASED2  : integer := 2#1010_1010#;
  constant REAL_C  : real := 1.5e3;
  constant BIG_C   : integer := 1_000_000;
  constant LEN_C   : distance_t := 5 mm;
  constant STR_C   : string := "say ""hi""";
  constant CHR_C   : character := 'x';
  constant T_C     : time := 2.5 ns;
end package literals_pkg;

library ieee;
use ieee.std_logic_1164.all;
use ieee.numeric_std.all;
use work.literals_pkg.all;

entity literals is
  port (
    d : in  std_logic_vector(7 downto 0);
    q : out std_logic_vector(7 downto 0);
    n : out natural
  );
end entity literals;

architecture rtl of literals is
  signal s : std_logic_vector(7 downto 0);
  signal w : std_logic_vector(15 downto 0);
  signal len : natural;
begin
  s <= d and HEX_C;
  w <= s & d;
  q <= w(15 downto 8) when w'length = 16 else (others => 'Z');
  len <= d'length + s'high - s'low;
  n <= len + to_integer(unsigned(BIN_C)) + BASED_C mod 7 + 2 ** 3 + abs (-4);
end architecture rtl;
