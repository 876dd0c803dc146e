// broken_tb: does not compile (an undeclared name).
module broken_tb;
    initial begin
        undeclared_thing = 1;
        $finish;
    end
endmodule
