library ieee;
use ieee.std_logic_1164.all;
use ieee.numeric_std.all;
library work;
use work.types_pkg.all;

entity top is
  generic (LANES : positive := 4);
  port (
    clk  : in  std_logic;
    rst  : in  std_logic;
    din  : in  std_logic_vector(DATA_W-1 downto 0);
    dout : out std_logic_vector(DATA_W-1 downto 0);
    flags : out std_logic_vector(LANES-1 downto 0)
  );
end entity top;

architecture struct of top is
  signal f_full, f_empty : std_logic;
  signal f_dout : word_t;
  signal wr, rd : std_logic := '0';
  signal lane_q : word_array_t(0 to LANES-1);
  signal alu_y : unsigned(7 downto 0);
begin
  -- component instantiation
  u_fifo : fifo
    generic map (WIDTH => DATA_W, DEPTH => 32)
    port map (
      clk   => clk,
      rst   => rst,
      din   => din,
      wr    => wr,
      rd    => rd,
      dout  => f_dout,
      full  => f_full,
      empty => f_empty
    );

  -- entity instantiation, positional generic and named ports with open
  u_fifo2 : entity work.fifo(rtl)
    generic map (DATA_W, 8)
    port map (clk => clk, rst => rst, din => f_dout, wr => wr, rd => rd,
              dout => dout, full => open, empty => open);

  u_alu : entity work.alu
    port map (a => unsigned(din), b => x"01", op => "000", y => alu_y,
              zero => open, carry => open);

  wr <= not f_full;
  rd <= not f_empty;

  lanes_g : for i in 0 to LANES-1 generate
    signal q : word_t;
  begin
    reg_p : process (clk)
    begin
      if rising_edge(clk) then
        q <= std_logic_vector(unsigned(din) + i);
      end if;
    end process;
    lane_q(i) <= q;
    flags(i) <= parity(q);
  end generate lanes_g;

  extra_g : if LANES > 2 generate
    assert lane_q(0) /= lane_q(1) or rst = '1' report "lanes equal" severity note;
  end generate;

  blk : block
    signal t : std_logic;
  begin
    t <= f_full and f_empty;
  end block blk;
end architecture struct;
