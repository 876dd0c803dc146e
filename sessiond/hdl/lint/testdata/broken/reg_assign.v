module reg_assign (
    input  wire a,
    output wire y
);
    reg r;
    assign r = a;
    assign y = r;
endmodule
