module unused (
    input  wire a,
    output wire y
);
    wire spare_sig;
    assign y = a;
endmodule
