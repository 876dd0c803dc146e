-- error_tb: checks the counter after five clocks, wanting 7 (severity error).
library ieee;
use ieee.std_logic_1164.all;
use ieee.numeric_std.all;

entity error_tb is
end entity;

architecture sim of error_tb is
    signal clk  : std_logic := '0';
    signal rst  : std_logic := '1';
    signal q    : unsigned(3 downto 0);
    signal done : boolean := false;
begin
    clk <= not clk after 5 ns when not done;
    dut : entity work.counter port map (clk => clk, rst => rst, q => q);
    process
    begin
        wait until falling_edge(clk);
        rst <= '0';
        for i in 1 to 5 loop
            wait until falling_edge(clk);
        end loop;
        assert q = 7 report "q is " & integer'image(to_integer(q)) & ", want 7" severity error;
        report "error_tb: done";
        done <= true;
        wait;
    end process;
end architecture;
