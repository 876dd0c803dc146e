library ieee;
use ieee.std_logic_1164.all;
use ieee.numeric_std.all;

-- Up/down counter with load.
entity counter is
  generic (
    N       : positive := 4;
    RESET_V : natural := 0
  );
  port (
    clk, rst : in std_logic;
    en       : in std_logic;
    up       : in std_logic := '1';
    load     : in std_logic;
    d        : in unsigned(N-1 downto 0);
    q        : buffer unsigned(N-1 downto 0);
    wrap     : out boolean
  );
begin
  assert N <= 32 report "counter too wide" severity failure;
end entity counter;

architecture rtl of counter is
  constant MAX : unsigned(N-1 downto 0) := (others => '1');
  alias msb : std_logic is q(N-1);
  attribute keep : boolean;
  attribute keep of MAX : constant is true;
begin
  process (clk, rst)
    variable next_q : unsigned(N-1 downto 0);
  begin
    if rst = '1' then
      q <= to_unsigned(RESET_V, N);
      wrap <= false;
    elsif rising_edge(clk) then
      next_q := q;
      if load = '1' then
        next_q := d;
      elsif en = '1' then
        if up = '1' then
          next_q := q + 1;
        else
          next_q := q - 1;
        end if;
      end if;
      wrap <= (q = MAX and up = '1' and en = '1');
      q <= next_q;
    end if;
  end process;
end architecture rtl;
