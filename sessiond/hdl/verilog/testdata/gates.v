// Gate primitives, UDPs, specify blocks, attributes and escaped names.
primitive mux2 (out, sel, a, b);
    output out;
    input sel, a, b;
    table
        // sel a b : out
        0 1 ? : 1;
        0 0 ? : 0;
        1 ? 1 : 1;
        1 ? 0 : 0;
    endtable
endprimitive

module gates (input a, input b, input c, output y, output z, output w);
    wire n1, n2;
    wand wa;
    wor wo;
    tri t1;
    supply0 gnd;
    supply1 vdd;
    and g1 (n1, a, b);
    or #1 g2 (n2, n1, c);
    not (y, n2);
    nand (strong0, weak1) g3 (z, a, b), g4 (w, b, c);
    bufif1 (t1, a, b);
    mux2 m (wa, a, b, c);
    assign wo = a;
    assign (strong0, strong1) wa = b;
    (* keep = 1 *) wire \escaped.name ;
    assign \escaped.name = a ^ gnd ^ vdd;

    specify
        (a => y) = (1, 2);
        specparam tRise = 1;
    endspecify
endmodule
