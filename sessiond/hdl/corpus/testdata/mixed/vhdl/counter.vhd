-- counter.vhd - free-running up/down counter with enable.
library ieee;
use ieee.std_logic_1164.all;
use ieee.numeric_std.all;

-- Wrapping counter of WIDTH bits; counts up, or down when down is high.
entity counter is
    generic (
        -- Counter width in bits.
        WIDTH : positive := 8;
        -- Value loaded on reset.
        INIT  : natural  := 0
    );
    port (
        -- Clock.
        clk   : in  std_logic;
        -- Synchronous active-high reset.
        rst   : in  std_logic;
        -- Count only while high.
        en    : in  std_logic;
        -- Count down instead of up.
        down  : in  std_logic;
        -- Current count.
        count : out std_logic_vector(WIDTH - 1 downto 0);
        -- High for one cycle when the counter wraps.
        wrap  : out std_logic
    );
end entity counter;

-- Plain RTL implementation.
architecture rtl of counter is
    -- Counter register.
    signal cnt : unsigned(WIDTH - 1 downto 0);
begin

    process (clk)
    begin
        if rising_edge(clk) then
            wrap <= '0';
            if rst = '1' then
                cnt <= to_unsigned(INIT, WIDTH);
            elsif en = '1' then
                if down = '1' then
                    if cnt = 0 then
                        wrap <= '1';
                    end if;
                    cnt <= cnt - 1;
                else
                    if cnt = (cnt'range => '1') then
                        wrap <= '1';
                    end if;
                    cnt <= cnt + 1;
                end if;
            end if;
        end if;
    end process;

    count <= std_logic_vector(cnt);

end architecture rtl;
