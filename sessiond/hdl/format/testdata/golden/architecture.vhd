architecture rtl of fifo is
signal mem : mem_t(0 to DEPTH - 1);
signal rd_ptr, wr_ptr : natural range 0 to DEPTH - 1 := 0;
constant ZERO : std_logic_vector(WIDTH - 1 downto 0) := (others => '0');
type state_t is (IDLE, WRITE, READ);
signal state : state_t;
begin
p_write: process (clk)
variable n : natural;
begin
if rising_edge(clk) then
if rst = '1' then
wr_ptr <= 0;
elsif wr_en = '1' and full = '0' then
mem(wr_ptr) <= din;
wr_ptr <= (wr_ptr + 1) mod DEPTH;
else
null;
end if;
case state is
when IDLE =>
state <= WRITE;
when WRITE | READ =>
state <= IDLE;
when others =>
null;
end case;
end if;
end process p_write;

dout <= mem(rd_ptr) when empty = '0' else
ZERO;

g_sync: for i in 0 to 1 generate
signal s : std_logic;
begin
u_ff: entity work.dff
generic map (
INIT => '0',
RESET_ACTIVE => '1'
)
port map (
clk => clk,
d => rst,
q => s
);
end generate g_sync;

g_dbg: if DEPTH > 8 generate
assert false report "deep fifo" severity note;
end generate;

with state select
full <= '1' when WRITE,
'0' when others;
end architecture rtl;
