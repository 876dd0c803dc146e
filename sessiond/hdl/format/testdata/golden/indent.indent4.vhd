entity e is
port (a : in bit);
end entity;
architecture a of e is
begin
process (a)
begin
if a = '1' then
null;
end if;
end process;
end architecture;
