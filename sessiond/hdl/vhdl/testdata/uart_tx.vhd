library ieee;
use ieee.std_logic_1164.all;
use ieee.numeric_std.all;
use work.types_pkg.all;

-- UART transmitter.
entity uart_tx is
  generic (CLKS_PER_BIT : positive := 16);
  port (
    clk   : in  std_logic;
    rst   : in  std_logic;
    start : in  std_logic;
    data  : in  std_logic_vector(7 downto 0);
    tx    : out std_logic;
    busy  : out std_logic
  );
end entity uart_tx;

architecture rtl of uart_tx is
  type tx_state_t is (S_IDLE, S_START, S_DATA, S_STOP);
  type regs_t is record
    state : tx_state_t;
    cnt   : natural range 0 to CLKS_PER_BIT-1;
    bit_i : natural range 0 to 7;
    shreg : std_logic_vector(7 downto 0);
  end record;
  constant REGS_RESET : regs_t := (state => S_IDLE, cnt => 0, bit_i => 0, shreg => (others => '0'));
  signal r, rin : regs_t := REGS_RESET;
begin
  comb : process (r, start, data)
    variable v : regs_t;
  begin
    v := r;
    case r.state is
      when S_IDLE =>
        if start = '1' then
          v.shreg := data;
          v.state := S_START;
        end if;
      when S_START | S_DATA =>
        if r.cnt = CLKS_PER_BIT-1 then
          v.cnt := 0;
          if r.state = S_START then
            v.state := S_DATA;
          elsif r.bit_i = 7 then
            v.state := S_STOP;
          else
            v.bit_i := r.bit_i + 1;
            v.shreg := '0' & r.shreg(7 downto 1);
          end if;
        else
          v.cnt := r.cnt + 1;
        end if;
      when S_STOP =>
        v.state := S_IDLE;
    end case;
    rin <= v;
  end process comb;

  seq : process (clk)
  begin
    if rising_edge(clk) then
      if rst = '1' then
        r <= REGS_RESET;
      else
        r <= rin;
      end if;
    end if;
  end process seq;

  tx <= '0' when r.state = S_START else
        r.shreg(0) when r.state = S_DATA else
        '1';
  busy <= '0' when r.state = S_IDLE else '1';
end architecture rtl;
