import{a,b,c,d,e,f,g}from"./chunk-XP7UTXCA.js";export{b as Graph,e as debug,g as default,a as graphlib,d as layout,f as util,c as version};
