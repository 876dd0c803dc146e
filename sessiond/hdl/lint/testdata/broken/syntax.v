module syntax (
    input  wire a,
    output wire y
);
    assign y = a
    wire oops;
endmodule
