module width (
    input  wire [7:0] a,
    output wire [3:0] y
);
    assign y = a;
endmodule
