architecture beh of tb is
  signal clk : std_logic := '0';
begin
  clk <= not clk after 5 ns;
  stim : process
  begin
    wait until rising_edge(clk);
    case state is
      when IDLE =>
        state <= RUN
      when RUN =>
        assert x = '1' report "bad" severity
    end case;
    for i in 0 to
  end process;
  g : for i in 0 to 3 generate
    u : comp port map (x(i), y(i));
end architecture;

package p is
  constant C : integer :=
  type t is (A, B
  function f(a : integer return integer;
end package;
