library ieee;
use ieee.std_logic_1164.all;
use ieee.numeric_std.all;

-- A synchronous FIFO.
entity fifo is
  generic (
    WIDTH : natural := 8;   -- data width
    DEPTH : positive := 16
  );
  port (
    clk   : in  std_logic;  -- clock
    rst   : in  std_logic;
    din   : in  std_logic_vector(WIDTH-1 downto 0);
    wr    : in  std_logic;
    rd    : in  std_logic;
    dout  : out std_logic_vector(WIDTH-1 downto 0);
    full  : out std_logic;
    empty : out std_logic
  );
end entity fifo;

architecture rtl of fifo is
  type mem_t is array (0 to DEPTH-1) of std_logic_vector(WIDTH-1 downto 0);
  signal mem : mem_t;
  signal wptr, rptr : integer range 0 to DEPTH-1 := 0;
  signal count : unsigned(7 downto 0) := (others => '0');
  -- true when no entries are stored
  signal is_empty : std_logic;
begin
  is_empty <= '1' when count = 0 else '0';
  empty <= is_empty;
  full <= '1' when count = DEPTH else '0';

  write_p : process (clk)
  begin
    if rising_edge(clk) then
      if rst = '1' then
        wptr <= 0;
      elsif wr = '1' and count /= DEPTH then
        mem(wptr) <= din;
        if wptr = DEPTH-1 then
          wptr <= 0;
        else
          wptr <= wptr + 1;
        end if;
      end if;
    end if;
  end process write_p;

  read_p : process (clk)
  begin
    if clk'event and clk = '1' then
      if rst = '1' then
        rptr <= 0;
        count <= (others => '0');
      else
        if rd = '1' and is_empty = '0' then
          dout <= mem(rptr);
          rptr <= (rptr + 1) mod DEPTH;
        end if;
        if wr = '1' and not (rd = '1') then
          count <= count + 1;
        elsif rd = '1' and wr = '0' and count > 0 then
          count <= count - 1;
        end if;
      end if;
    end if;
  end process;
end architecture rtl;
