library ieee;
use ieee.std_logic_1164.all;
use ieee.numeric_std.all;

package util_pkg is
  type counter_pt is protected
    procedure increment(n : natural := 1);
    impure function value return natural;
  end protected counter_pt;

  function max(a, b : integer) return integer;
  function to_slv(n : natural; w : positive) return std_logic_vector;
  function reverse(v : std_logic_vector) return std_logic_vector;
  procedure swap(variable a, b : inout integer);
  type int_ptr is access integer;
  type int_file is file of integer;
end package;

package body util_pkg is
  type counter_pt is protected body
    variable count : natural := 0;
    procedure increment(n : natural := 1) is
    begin
      count := count + n;
    end procedure;
    impure function value return natural is
    begin
      return count;
    end function;
  end protected body counter_pt;

  function max(a, b : integer) return integer is
  begin
    if a > b then
      return a;
    end if;
    return b;
  end;

  function to_slv(n : natural; w : positive) return std_logic_vector is
  begin
    return std_logic_vector(to_unsigned(n, w));
  end function to_slv;

  function reverse(v : std_logic_vector) return std_logic_vector is
    variable r : std_logic_vector(v'reverse_range);
    alias va : std_logic_vector(v'length-1 downto 0) is v;
  begin
    for i in va'range loop
      r(i) := va(i);
    end loop;
    return r;
  end function;

  procedure swap(variable a, b : inout integer) is
    variable t : integer;
  begin
    t := a;
    a := b;
    b := t;
  end procedure swap;
end package body;
