library ieee;
use ieee.std_logic_1164.all;

entity unknown_signal is
    port (a : in std_logic; y : out std_logic);
end entity;

architecture rtl of unknown_signal is
begin
    y <= a and no_such_signal;
end architecture;
