library ieee;
use ieee.std_logic_1164.all;

entity type_error is
    port (a : in std_logic; y : out integer);
end entity;

architecture rtl of type_error is
begin
    y <= a;
end architecture;
