library ieee;
use ieee.std_logic_1164.all;

entity dut is
  generic (N : natural := 4
  port (
    clk : in std_logic;
    d   : in std_logic_vector(N-1 downto
    q   : out std_logic
  );
end entity;

architecture rtl of dut is
  signal r : std_logic_vector(N-1 downto 0)
  signal s : std_logic;
begin
  process (clk)
  begin
    if rising_edge(clk) then
      r <= d
      q <= r(N-1);
  end process;

  u0 : entity work.leaf port map (a => r(0), b =>
