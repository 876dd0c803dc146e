-- broken_tb: does not analyse (an undeclared name).
entity broken_tb is
end entity;

architecture sim of broken_tb is
begin
    undeclared_thing <= '1';
end architecture;
