-- top.vhd - LED dimmer: a VHDL counter drives Verilog PWM channels.
library ieee;
use ieee.std_logic_1164.all;
use ieee.numeric_std.all;

library work;
use work.util_pkg.all;

-- Board top of the dimmer.
entity dimmer_top is
    generic (
        -- Slow-down of the breathe ramp: the ramp steps once per counter wrap.
        RAMP_WIDTH : positive := 16
    );
    port (
        -- Board clock.
        clk  : in  std_logic;
        -- Active-high reset.
        rst  : in  std_logic;
        -- Selected mode.
        mode : in  mode_t;
        -- Duty value used in fixed mode.
        duty : in  std_logic_vector(PWM_WIDTH - 1 downto 0);
        -- LED outputs.
        leds : out std_logic_vector(NUM_LEDS - 1 downto 0)
    );
end entity dimmer_top;

-- Structural architecture.
architecture rtl of dimmer_top is
    -- Wrap pulse of the prescaler.
    signal ramp_tick : std_logic;
    -- Breathe ramp value.
    signal ramp : std_logic_vector(PWM_WIDTH - 1 downto 0);
    -- Duty value of each channel.
    signal duties : duty_array_t;
    -- Enable of the prescaler.
    signal run : std_logic;
begin

    run <= '0' when mode = MODE_OFF else '1';

    -- Prescaler: a wide counter whose wrap steps the ramp.
    u_prescale : entity work.counter
        generic map (
            WIDTH => RAMP_WIDTH
        )
        port map (
            clk   => clk,
            rst   => rst,
            en    => run,
            down  => '0',
            count => open,
            wrap  => ramp_tick
        );

    -- Ramp counter for breathe mode.
    u_ramp : entity work.counter
        generic map (
            WIDTH => PWM_WIDTH,
            INIT  => 0
        )
        port map (
            clk   => clk,
            rst   => rst,
            en    => ramp_tick,
            down  => '0',
            count => ramp,
            wrap  => open
        );

    -- One Verilog PWM per LED, instantiated through the component in util_pkg.
    g_leds : for i in 0 to NUM_LEDS - 1 generate
        duties(i) <= phase_shift(unsigned(ramp), i) when mode = MODE_BREATHE
                     else unsigned(duty) when mode = MODE_FIXED
                     else (others => '0');

        u_pwm : pwm
            generic map (
                WIDTH => PWM_WIDTH
            )
            port map (
                clk  => clk,
                rst  => rst,
                duty => std_logic_vector(duties(i)),
                q    => leds(i)
            );
    end generate g_leds;

end architecture rtl;
