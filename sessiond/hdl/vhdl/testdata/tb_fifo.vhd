library ieee;
use ieee.std_logic_1164.all;
use ieee.numeric_std.all;
use std.textio.all;

entity tb_fifo is
end entity tb_fifo;

architecture sim of tb_fifo is
  constant CLK_PERIOD : time := 10 ns;
  signal clk   : std_logic := '0';
  signal rst   : std_logic := '1';
  signal din   : std_logic_vector(7 downto 0) := (others => '0');
  signal dout  : std_logic_vector(7 downto 0);
  signal wr, rd, full, empty : std_logic := '0';
  signal done  : boolean := false;
begin
  clk <= not clk after CLK_PERIOD / 2 when not done else '0';

  dut : entity work.fifo
    generic map (WIDTH => 8, DEPTH => 4)
    port map (clk, rst, din, wr, rd, dout, full, empty);

  stim : process
    procedure push(v : in natural) is
    begin
      din <= std_logic_vector(to_unsigned(v, din'length));
      wr <= '1';
      wait until rising_edge(clk);
      wr <= '0';
    end procedure;
    variable l : line;
    variable errors : natural := 0;
  begin
    wait for 2 * CLK_PERIOD;
    rst <= '0';
    wait until rising_edge(clk);
    for k in 1 to 3 loop
      push(k);
    end loop;
    assert empty = '0' report "fifo should not be empty" severity error;
    rd <= '1';
    wait until rising_edge(clk);
    rd <= '0';
    wait for 1 ns;
    if to_integer(unsigned(dout)) /= 1 then
      errors := errors + 1;
      report "bad data " & integer'image(to_integer(unsigned(dout))) severity warning;
    end if;
    write(l, string'("errors: "));
    write(l, errors);
    writeline(output, l);
    done <= true;
    wait on clk;
    report "done" severity note;
    wait;
  end process stim;
end architecture sim;
