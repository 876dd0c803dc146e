-- util_pkg.vhd - shared constants, types and the Verilog PWM component.
library ieee;
use ieee.std_logic_1164.all;
use ieee.numeric_std.all;

-- Project-wide definitions for the mixed-language LED dimmer.
package util_pkg is

    -- Width of the PWM duty-cycle value.
    constant PWM_WIDTH : positive := 8;
    -- Number of LED channels on the board.
    constant NUM_LEDS : positive := 4;

    -- Duty-cycle value of one channel.
    subtype duty_t is unsigned(PWM_WIDTH - 1 downto 0);
    -- Duty-cycle values of all channels.
    type duty_array_t is array (0 to NUM_LEDS - 1) of duty_t;
    -- Operating mode of the dimmer.
    type mode_t is (MODE_OFF, MODE_FIXED, MODE_BREATHE);

    -- Verilog PWM generator (verilog/pwm.v), declared so VHDL can instantiate it.
    component pwm is
        generic (
            WIDTH : integer := 8
        );
        port (
            clk  : in  std_logic;
            rst  : in  std_logic;
            duty : in  std_logic_vector(WIDTH - 1 downto 0);
            q    : out std_logic
        );
    end component pwm;

    -- Duty value for a channel index in breathe mode: channels are phase-shifted.
    function phase_shift(value : duty_t; channel : natural) return duty_t;

end package util_pkg;

package body util_pkg is

    function phase_shift(value : duty_t; channel : natural) return duty_t is
    begin
        return value + to_unsigned(channel * (2 ** PWM_WIDTH / NUM_LEDS), PWM_WIDTH);
    end function phase_shift;

end package body util_pkg;
